from tests.lawyer.fixtures import lawyer, lawyer_client, new_client, recovery

__all__ = ["lawyer", "lawyer_client", "new_client", "recovery"]
