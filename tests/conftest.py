import pytest

from .cnilab import CNILab
from .netlab import Lab


@pytest.fixture
def lab(prefix):
    with Lab(prefix) as lab:
        yield lab


@pytest.fixture
def lab_controller(lab, controller_factory):
    """A Controller whose "host" is the lab's throwaway host namespace."""
    return controller_factory()


@pytest.fixture
def cni(lab, tmp_path, prefix, controller_factory):
    """A pycnm daemon serving pycnm-cni in the lab, a bridge network, pycnm-cni installed (tests/cnilab.py)."""
    made = CNILab(lab, tmp_path, prefix, controller_factory())
    try:
        yield made.start()
    finally:
        made.close()
