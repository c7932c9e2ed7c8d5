"""Serializer pieces every part of the API shares.

Serializers parse and check the shape of what a client sends and render what
it gets back. Deciding what the data means is the services' job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a misspelt field is an error, not a no-op."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class WholeItemsListField(serializers.ListField):
    """A list of objects, each checked in full even inside a PATCH.

    DRF skips missing required fields in every nested serializer of a partial
    update; a collection that replaces what was there must be complete, so each
    item is validated with a fresh, non-partial copy of the child serializer.
    """

    def run_child_validation(self, data: list[Any]) -> list[Any]:
        item_serializer = cast(type[serializers.Serializer], type(self.child))
        result: list[Any] = []
        errors: dict[str, Any] = {}
        for index, item in enumerate(data):
            child = item_serializer(data=item)
            if child.is_valid():
                result.append(child.validated_data)
            else:
                errors[str(index)] = child.errors
        if errors:
            raise serializers.ValidationError(errors)
        return result


class UserRefSerializer(serializers.Serializer):
    """Who did something: enough to show a name, never more."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(source="display_name", read_only=True)


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")
    # Named like Serializer.errors; the metaclass moves declared fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="For a 400: the messages for each field that was refused "
        '(`non_field_errors` for the request as a whole), e.g. `{"name": ["…"]}`. '
        "A list of objects reports its items by position.",
    )
