from django.test import Client

from tests.factories import PartnerFactory


def test_bob_sees_a_partner_on_the_list(bob_client: Client) -> None:
    """An agent finds a newly created partner on the list."""
    PartnerFactory(name="Initech", emails=["sales@initech.example"])
    response = bob_client.get("/partners/")
    assert response.status_code == 200
    assert "Initech" in response.content.decode()
