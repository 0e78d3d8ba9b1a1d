"""pycnm as a CNI plugin: the daemon side of the ``pycnm-cni`` executable.

:mod:`pycnm.cni.spec` holds the pure logic (requests parsed and checked as the CNI spec says,
results rendered in each spec version, the conflist pycnm installs). The executable itself is the
``pycnm-cni-plugin`` distribution (``contrib/cni-plugin``): a standard-library client that hands
each request to ``pycnm daemon``.
"""
