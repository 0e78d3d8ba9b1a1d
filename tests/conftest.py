import pytest

from .netlab import Lab


@pytest.fixture
def lab(prefix):
    with Lab(prefix) as lab:
        yield lab


@pytest.fixture
def lab_controller(lab, controller_factory):
    """A Controller whose "host" is the lab's throwaway host namespace."""
    return controller_factory()
