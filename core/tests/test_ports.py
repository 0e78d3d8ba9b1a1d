"""Docker's -p syntax."""

import pytest

from pycnm import ports
from pycnm.errors import InvalidParameter
from pycnm.ports import PortBinding


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("80", [PortBinding("tcp", 80)]),
        ("8080:80", [PortBinding("tcp", 80, "", 8080)]),
        ("127.0.0.1:8080:80/udp", [PortBinding("udp", 80, "127.0.0.1", 8080)]),
        ("[::1]:8080:80", [PortBinding("tcp", 80, "::1", 8080)]),
        ("8000-8001:80-81", [PortBinding("tcp", 80, "", 8000), PortBinding("tcp", 81, "", 8001)]),
        ("8000-8009:80", [PortBinding("tcp", 80, "", 8000, 8009)]),
        ("90-91", [PortBinding("tcp", 90), PortBinding("tcp", 91)]),
    ],
)
def test_docker_forms(spec, expected):
    assert ports.parse(spec) == expected


@pytest.mark.parametrize(
    "spec,message",
    [
        ("0:80", "ports are 1 to 65535"),
        ("8080:70000", "ports are 1 to 65535"),
        ("9-8:80", "end is below the start"),
        ("8000-8002:80-81", "differ in length"),
        ("8080:80/icmp", "use tcp, udp or sctp"),
        ("a:b:c:d", "expected"),
        ("300.1.1.1:80:80", "invalid host IP"),
        ("x:80", "expected a number"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(InvalidParameter, match=message):
        ports.parse(spec)


def test_wire_round_trip():
    bindings = ports.parse_all(["127.0.0.1:8080:80", "53:53/udp", "9000-9009:90"])
    wire = ports.to_wire(bindings)
    assert wire[1] == {"Proto": 17, "IP": "", "Port": 53, "HostIP": "", "HostPort": 53, "HostPortEnd": 0}
    assert ports.from_wire(wire) == bindings
