"""The case setup pages: sections with their categories and stages, and case types.

Views parse the request, ask the permission helper, call a service in
``goodwill.cases.configuration``, and render; nothing else happens here. The
category and stage panels of a section's page update in place with htmx, and
every action also works as a plain form post.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from goodwill.accounts.permissions import AuthenticatedHttpRequest, staff_required
from goodwill.cases import configuration
from goodwill.cases.models import Case, CaseCategory, CaseType, Section, Stage
from goodwill.cases.permissions import visible_sections
from goodwill.cases.setup_forms import (
    CaseTypeForm,
    CategoryForm,
    ReorderForm,
    SectionForm,
    SeedForm,
    StageForm,
)
from goodwill.cases.setup_permissions import (
    can_setup,
    check_setup,
    get_case_type_for_user,
    get_category_for_user,
    get_section_for_setup,
    get_stage_for_user,
)
from goodwill.lib.forms import apply_errors

PANELS = {
    "categories": "cases/setup/_categories.html",
    "stages": "cases/setup/_stages.html",
}


def _form_errors(form: Any) -> list[str]:
    return [str(message) for errors in form.errors.values() for message in errors]


# --------------------------------------------------------------------------
# Sections


def _chains(sections: Sequence[Section]) -> dict[int, list[Section]]:
    """Each section's escalation path (the sections above it), from one query."""
    by_id = {s.pk: s for s in Section.objects.only("id", "name", "code", "parent_id")}
    chains: dict[int, list[Section]] = {}
    for section in sections:
        chain: list[Section] = []
        seen = {section.pk}
        parent_id = section.parent_id
        while parent_id is not None and parent_id not in seen and parent_id in by_id:
            seen.add(parent_id)
            chain.append(by_id[parent_id])
            parent_id = by_id[parent_id].parent_id
        chains[section.pk] = chain
    return chains


@require_GET
@staff_required
def section_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_setup(request.user, "section")
    sections = list(
        visible_sections(request.user)
        .select_related("responsible")
        .annotate(member_count=Count("members", distinct=True))
        .order_by("-active", "name", "id")
    )
    chains = _chains(sections)
    rows = [(section, chains[section.pk]) for section in sections]
    return render(
        request,
        "cases/setup/section_list.html",
        {"rows": rows, "can_add": can_setup(request.user, "section", "add")},
    )


@staff_required
def section_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_setup(request.user, "section", "add")
    form = SectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            section = configuration.section_save(
                by=request.user, values=form.values(), pipeline=form.cleaned_data["pipeline"]
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The section {section.name} was created.")
            return redirect("cases_setup:section_detail", pk=section.pk)
    return render(
        request,
        "cases/setup/section_form.html",
        {"form": form, "creating": True},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
def section_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    section = get_section_for_setup(request.user, pk)
    if request.method == "POST":
        form = SectionForm(request.POST, section=section)
    else:
        form = SectionForm(initial=SectionForm.initial_for(section), section=section)
    if request.method == "POST" and form.is_valid():
        try:
            configuration.section_save(by=request.user, section=section, values=form.values())
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The section {section.name} was saved.")
            return redirect("cases_setup:section_detail", pk=section.pk)
    return render(
        request,
        "cases/setup/section_form.html",
        {"form": form, "section": section, "creating": False},
        status=400 if request.method == "POST" else 200,
    )


def _detail_context(request: AuthenticatedHttpRequest, section: Section) -> dict[str, Any]:
    user = request.user
    return {
        "section": section,
        "chain": _chains([section])[section.pk],
        "categories": list(CaseCategory.objects.filter(section=section)),
        "stages": list(Stage.objects.filter(section=section)),
        "category_form": CategoryForm(adding=True, prefix="category"),
        "stage_form": StageForm(prefix="stage"),
        "can_change_section": can_setup(user, "section"),
        "can_add_category": can_setup(user, "casecategory", "add"),
        "can_change_category": can_setup(user, "casecategory"),
        "can_delete_category": can_setup(user, "casecategory", "delete"),
        "can_add_stage": can_setup(user, "stage", "add"),
        "can_change_stage": can_setup(user, "stage"),
        "can_delete_stage": can_setup(user, "stage", "delete"),
    }


def _render_section(
    request: AuthenticatedHttpRequest,
    section: Section,
    *,
    panel: str,
    status: int = 200,
    flash: str = "",
    **overrides: Any,
) -> HttpResponse:
    """The section page, or with htmx only its *panel* (categories or stages).

    htmx does not swap error responses, so a panel showing form errors comes
    back as 200; the full page answers 400.
    """
    context = {**_detail_context(request, section), **overrides, "flash": flash}
    if request.htmx:
        return render(request, PANELS[panel], context)
    if flash:
        messages.success(request, flash)
    return render(request, "cases/setup/section_detail.html", context, status=status)


def _with_page_data(section: Section) -> Section:
    """The section with what its page shows about it (children, members)."""
    return (
        Section.objects.select_related("parent", "responsible")
        .prefetch_related(
            "members",
            Prefetch("children", queryset=Section.objects.order_by("name", "id")),
        )
        .get(pk=section.pk)
    )


@require_GET
@staff_required
def section_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    section = _with_page_data(get_section_for_setup(request.user, pk))
    return render(request, "cases/setup/section_detail.html", _detail_context(request, section))


@require_POST
@staff_required
def section_seed_stages(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    section = get_section_for_setup(request.user, pk, what="stage", action="add")
    form = SeedForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            configuration.section_seed_stages(
                by=request.user, section=section, pipeline=form.cleaned_data["pipeline"]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = "Choose the sales or the service pipeline."
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{section.name} has its stages.")
        return redirect("cases_setup:section_detail", pk=section.pk)
    return _render_section(
        request,
        section,
        panel="stages",
        flash="" if error else f"{section.name} has its stages.",
        stages_error=error,
    )


# --------------------------------------------------------------------------
# Categories


@require_POST
@staff_required
def category_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    section = get_section_for_setup(request.user, pk, what="casecategory", action="add")
    form = CategoryForm(request.POST, adding=True, prefix="category")
    if form.is_valid():
        try:
            category = configuration.category_save(
                by=request.user, section=section, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            flash = f"The category {category.name} was added."
            if not request.htmx:
                messages.success(request, flash)
                return redirect("cases_setup:section_detail", pk=section.pk)
            return _render_section(request, section, panel="categories", flash=flash)
    return _render_section(
        request, _with_page_data(section), panel="categories", status=400, category_form=form
    )


@staff_required
def category_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET: the section page (or its categories panel) with this category in a form."""
    category = get_category_for_user(request.user, pk)
    section = category.section
    if request.method != "POST":
        form = CategoryForm(initial=CategoryForm.initial_for(category), prefix="edit-category")
        form.fields["name"].widget.attrs["autofocus"] = True
        if not request.htmx:
            section = _with_page_data(section)
        return _render_section(
            request, section, panel="categories", editing_category=category, edit_form=form
        )
    form = CategoryForm(request.POST, prefix="edit-category")
    if form.is_valid():
        try:
            configuration.category_save(
                by=request.user, category=category, section=section, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            flash = f"The category {category.name} was saved."
            if not request.htmx:
                messages.success(request, flash)
                return redirect("cases_setup:section_detail", pk=section.pk)
            return _render_section(request, section, panel="categories", flash=flash)
    if not request.htmx:
        section = _with_page_data(section)
    return _render_section(
        request,
        section,
        panel="categories",
        status=400,
        editing_category=category,
        edit_form=form,
    )


@staff_required
def category_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    category = get_category_for_user(request.user, pk, action="delete")
    section = category.section
    if request.method != "POST":
        return render(
            request,
            "cases/setup/delete_confirm.html",
            {
                "section": section,
                "what": "category",
                "thing": category,
                "case_count": Case.objects.filter(category=category).count(),
            },
        )
    configuration.category_delete(by=request.user, category=category)
    flash = f"The category {category.name} was deleted."
    if not request.htmx:
        messages.success(request, flash)
        return redirect("cases_setup:section_detail", pk=section.pk)
    return _render_section(request, section, panel="categories", flash=flash)


# --------------------------------------------------------------------------
# Stages


@require_POST
@staff_required
def stage_add(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    section = get_section_for_setup(request.user, pk, what="stage", action="add")
    form = StageForm(request.POST, prefix="stage")
    if form.is_valid():
        try:
            stage = configuration.stage_save(
                by=request.user, section=section, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            flash = f"The stage {stage.name} was added."
            if not request.htmx:
                messages.success(request, flash)
                return redirect("cases_setup:section_detail", pk=section.pk)
            return _render_section(request, section, panel="stages", flash=flash)
    return _render_section(
        request, _with_page_data(section), panel="stages", status=400, stage_form=form
    )


@staff_required
def stage_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """GET: the section page (or its stages panel) with this stage in a form."""
    stage = get_stage_for_user(request.user, pk)
    section = stage.section
    if request.method != "POST":
        form = StageForm(initial=StageForm.initial_for(stage), prefix="edit-stage")
        form.fields["name"].widget.attrs["autofocus"] = True
        if not request.htmx:
            section = _with_page_data(section)
        return _render_section(
            request, section, panel="stages", editing_stage=stage, edit_form=form
        )
    form = StageForm(request.POST, prefix="edit-stage")
    if form.is_valid():
        try:
            configuration.stage_save(
                by=request.user, stage=stage, section=section, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            flash = f"The stage {stage.name} was saved."
            if not request.htmx:
                messages.success(request, flash)
                return redirect("cases_setup:section_detail", pk=section.pk)
            return _render_section(request, section, panel="stages", flash=flash)
    if not request.htmx:
        section = _with_page_data(section)
    return _render_section(
        request, section, panel="stages", status=400, editing_stage=stage, edit_form=form
    )


@staff_required
def stage_delete(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    stage = get_stage_for_user(request.user, pk, action="delete")
    section = stage.section
    if request.method != "POST":
        return render(
            request,
            "cases/setup/delete_confirm.html",
            {
                "section": section,
                "what": "stage",
                "thing": stage,
                "case_count": Case.objects.filter(stage=stage).count(),
            },
        )
    configuration.stage_delete(by=request.user, stage=stage)
    flash = f"The stage {stage.name} was deleted."
    if not request.htmx:
        messages.success(request, flash)
        return redirect("cases_setup:section_detail", pk=section.pk)
    return _render_section(request, section, panel="stages", flash=flash)


@require_POST
@staff_required
def stages_reorder(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The new order, from a drag on the page or from a move up/down button."""
    section = get_section_for_setup(request.user, pk, what="stage")
    form = ReorderForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            configuration.stages_reorder(by=request.user, section=section, stage_ids=form.order())
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(_form_errors(form))
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "The new order of the stages was saved.")
        return redirect("cases_setup:section_detail", pk=section.pk)
    return _render_section(
        request,
        section,
        panel="stages",
        flash="" if error else "The new order of the stages was saved.",
        stages_error=error,
    )


# --------------------------------------------------------------------------
# Case types


@require_GET
@staff_required
def case_type_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_setup(request.user, "casetype")
    case_types = list(CaseType.objects.select_related("default_section"))
    labels = dict(CaseType.FieldGroup.choices)
    rows = [
        (t, [str(labels[g]).split(" (")[0] for g in t.field_groups or [] if g in labels])
        for t in case_types
    ]
    return render(
        request,
        "cases/setup/case_type_list.html",
        {"rows": rows, "can_add": can_setup(request.user, "casetype", "add")},
    )


@staff_required
def case_type_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    check_setup(request.user, "casetype", "add")
    form = CaseTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case_type = configuration.case_type_save(by=request.user, values=form.cleaned_data)
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The case type {case_type.name} was created.")
            return redirect("cases_setup:case_type_list")
    return render(
        request,
        "cases/setup/case_type_form.html",
        {"form": form, "creating": True},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
def case_type_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    case_type = get_case_type_for_user(request.user, pk)
    if request.method == "POST":
        form = CaseTypeForm(request.POST, case_type=case_type)
    else:
        form = CaseTypeForm(initial=CaseTypeForm.initial_for(case_type), case_type=case_type)
    if request.method == "POST" and form.is_valid():
        try:
            configuration.case_type_save(
                by=request.user, case_type=case_type, values=form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(exc, form)
        else:
            messages.success(request, f"The case type {case_type.name} was saved.")
            return redirect("cases_setup:case_type_list")
    return render(
        request,
        "cases/setup/case_type_form.html",
        {"form": form, "case_type": case_type, "creating": False},
        status=400 if request.method == "POST" else 200,
    )
