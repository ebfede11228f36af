"""A Hypothesis strategy for valid-looking tenant manifests across the whole schema (issue 15).

`manifests()` draws a manifest as plain Python data (dicts, lists, text, numbers), ready for
`yaml.safe_dump`. It builds each manifest the way a careful operator would, so that most
drawn manifests pass `gen.validate` and exercise plan, render and verify: subnets are laid
out per region without overlaps, static IPs fall inside their subnet beyond Azure's reserved
addresses (and beyond the addresses the region's dynamic NAT IPs take first), link services
get frontends of their own, ports do not collide, names follow the per-type rules of
`gen.naming.RULES`. Two thirds of the manifests also take rare "edge" branches (`_edge`:
a third of them at most one edge each, a third any number) that deliberately break such a
decision (a colliding port, a reserved address, a name differing only in case, a /30 NAT
subnet, a foreign subscription ...), so Hypothesis also explores what validate has to
refuse. Shrinking moves towards the manifest without edges.

Covered: service (name and FQDN at their length extremes, 1-16 ports, the same port twice,
proxy_protocol on/off/absent, support email/url/both/neither/empty, tags with
metacharacters); provider (resource groups with Unicode letters and parentheses,
restricted/public/absent visibility, monitoring absent/empty/full); 1-3 regions (real
locations, some the prefix of another, and made-up ones of 2-40 characters); existing and
created load balancers (frontends, routed_frontend, backend_port up to the last valid one,
Tcp/Http/Https probes, inbound NAT rules, ports colliding across rules, NAT rules and the
probe); link services (shards, static and dynamic NAT IPs side by side in one NAT subnet,
aliases present, null or absent; edge names such as 'az', 'sys', 'null' and plgen's own
Bicep symbols); NAT gateways on ordinary subnets and (edges) on the NAT subnet, the created
frontend subnet, GatewaySubnet or one subnet twice; NAT and frontend subnets named
GatewaySubnet or differing only in case; VPN gateways of every SKU and generation; 0-6
tenants in every state and connectivity, auto/manual approval, endpoint / endpoint_sites /
neither, static private IPs or not, shared subscriptions, link_service named or implied,
vnet_to_vnet sections, ARM ids whose names are valid or (edge) full of metacharacters; and
free text (display names, request messages up to 140 characters, tag names and values,
e-mail local parts) full of Markdown, HTML, HCL, Bicep and Jinja metacharacters and
non-ASCII letters (never control characters, which the model refuses).
"""

from __future__ import annotations

import ipaddress
import string
from typing import Any

from hypothesis import strategies as st

from gen.azure import VPN_SKU_GENERATIONS
from gen.manifest import MAX_REQUEST_MESSAGE, VPN_GENERATIONS, VPN_SKUS
from gen.naming import RULES

# --- building blocks ------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
NETWORK_ALPHABETS = (ALNUM, ALNUM + "_.-", ALNUM + "_")  # start, middle, end (gen.naming._network)
UNICODE_LETTERS = "éüßÅøЖж中日ñ"  # NFC-stable letters: \w accepts them in resource group names
RESOURCE_GROUP_ALPHABETS = (ALNUM + "_().-" + UNICODE_LETTERS, ALNUM + "_().-" + UNICODE_LETTERS,
                            ALNUM + "_()-" + UNICODE_LETTERS)
NAME_ALPHABETS = {kind: RESOURCE_GROUP_ALPHABETS if kind == "resource_group" else NETWORK_ALPHABETS for kind in RULES}

# real locations, some of them prefixes of others (eastus, eastus2; westus, westus2, westus3)
LOCATIONS = ["eastus2", "westeurope", "eastus", "northeurope", "southeastasia", "switzerlandnorth", "australiaeast",
             "uksouth", "centralus", "westus2", "westus", "westus3"]

# Text that means something in Markdown, HTML, HCL, Bicep, Jinja or YAML, and letters beyond ASCII.
METACHARACTERS = ["|", "`", "*", "_", "[", "]", "<", ">", "&", "${", "%{", '"', "\\", "#", "~", "{", "}", "'", "$",
                  "%", "$${", "%%{", "<!--", "-->", "*/", "/*", "```", "<script>alert(1)</script>", "<b>", "&amp;",
                  "&#60;", "[x](https://evil.example)", "![i](x)", "{{ x }}", "{% if %}", "\\n", "\\u0000", "@",
                  ": ", " #", "- ", "> ", "| ", "!", "?", ",", "=", "+", "^", "(", ")", "EOT <<EOT", "*/*", "--"]
NON_ASCII = ["é", "ü", "ß", "Zürich", "Ж", "日本語", "😀", "🚀", "שלום", "مرحبا", "Å", "ﬁ", "e\u0301", "\u00a0", "—", "…",
             "“”", "«»", "€", "İ", "ǅ"]
# Characters a manifest may not hold in free text (gen.manifest.fields._INVISIBLE_CATEGORIES).
FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
TEXT_CHARACTERS = st.characters(blacklist_categories=FORBIDDEN_CATEGORIES)
# ARM id segments ([^/\s]+): anything but slashes and white space.
SEGMENT_CHARACTERS = ALNUM + "-_.()\"'\\$%{}<>|*[]&~#`!?=+,;:@^" + "éüßЖ日😀"

ARM_SEGMENT = st.text(SEGMENT_CHARACTERS, min_size=1, max_size=24)


class _Draw:
    """Hypothesis' `draw`, and how this manifest takes edge branches: a third of the manifests
    take none (most of them pass validate and reach render), a third take at most one (so that
    an edge validate misses is not hidden behind another one it refuses), a third take them
    freely."""

    def __init__(self, draw, mode: str):
        self.draw = draw
        self.mode = mode  # "none", "one" or "many"
        self.taken = 0

    def __call__(self, strategy):
        return self.draw(strategy)


def _edge(draw, odds: int = 12) -> bool:
    """True about once in `odds` draws (never in a manifest without edges, at most once in a
    manifest with one): take the deliberately unusual, possibly invalid branch. False shrinks
    first, so a shrunk counterexample keeps only the edges it needs."""
    if draw.mode == "none" or (draw.mode == "one" and draw.taken):
        return False
    if draw.mode == "one":
        odds *= 3  # spread the one edge over the whole manifest, not only its first fields
    if draw(st.integers(0, odds - 1)) != odds - 1:
        return False
    draw.taken += 1
    return True


def _sometimes(draw, odds: int) -> bool:
    """True about once in `odds` draws, in every manifest: a valid extreme (the longest text or
    FQDN), which is no edge."""
    return draw(st.integers(0, odds - 1)) == odds - 1


def _length(draw, low: int, high: int, typical: int = 12) -> int:
    """A length: mostly short, often exactly the minimum or the maximum."""
    return draw(st.one_of(st.integers(low, min(high, low + typical)), st.just(low), st.just(high),
                          st.integers(low, high)))


def _guid(draw) -> str:
    return str(draw(st.uuids()))


def _free_text(draw, max_size: int, min_size: int = 1, max_bytes: int | None = None) -> str:
    """Free text as gen.manifest.fields.check_free_text allows it: no control or invisible characters, no
    surrounding white space; full of metacharacters, sometimes exactly `max_size` long (and, with
    `max_bytes`, at most that many bytes in UTF-8)."""
    pieces = draw(st.lists(st.one_of(st.sampled_from(METACHARACTERS), st.sampled_from(NON_ASCII),
                                     st.text(TEXT_CHARACTERS, max_size=6)), min_size=1, max_size=8))
    text = "".join(pieces).strip()
    if _sometimes(draw, 6):
        filler = draw(st.sampled_from(["a", "Ж", "|", "${x}", "😀", "é", "&"]))
        text = (text + filler * max_size)[:max_size]
    text = text[:max_size].strip()
    while max_bytes is not None and len(text.encode("utf-8")) > max_bytes:
        text = text[:-1].strip()
    return text if len(text) >= min_size else "x" * min_size


def _name(draw, kind: str, taken: set[str] | None = None, similar: list[str] | None = None,
          room: int = 0) -> str:
    """A name that follows RULES[kind] (every allowed character, both cases, both length
    extremes), unique (case-insensitively) among `taken` unless an edge case makes it collide
    with, or differ only in case or separators from, one of `similar`. `room`: characters
    plgen appends to derive names of its own (e.g. '-backend'), kept free except on an edge."""
    rule = RULES[kind]
    max_length = rule.max_length - room if room and not _edge(draw, 20) else rule.max_length
    start, middle, end = NAME_ALPHABETS[kind]
    if similar and _edge(draw, 40):
        base = draw(st.sampled_from(similar))
        variants = sorted({v for v in (base.swapcase(), base.upper(), base.lower(), base.replace("-", "."),
                                       base.replace("-", "_"), base.replace(".", "-"), base + "_")
                           if v != base and rule.problem(v) is None})
        variant = base if not variants or _edge(draw, 4) else draw(st.sampled_from(variants))
        if taken is not None:
            taken.add(variant.lower())
        return variant
    length = _length(draw, rule.min_length, max_length)
    if length == 1:
        name = draw(st.sampled_from(sorted(set(start) & set(end))))
    else:
        name = (draw(st.sampled_from(start)) + draw(st.text(middle, min_size=length - 2, max_size=length - 2))
                + draw(st.sampled_from(end)))
    if taken is not None:
        counter = 0
        while name.lower() in taken:
            counter += 1
            suffix = f"x{counter}"
            name = (name[: max(max_length - len(suffix), 0)] + suffix)[-max_length:]
        taken.add(name.lower())
    assert rule.problem(name) is None, (kind, name, rule.problem(name))
    return name


def _slug(draw, taken: set[str] | None = None, max_length: int = 32) -> str:
    """gen.manifest.SLUG_RE: 3-32 of a-z 0-9 -, a letter first, no hyphen last."""
    length = _length(draw, 3, max_length, typical=8)
    slug = (draw(st.sampled_from(string.ascii_lowercase))
            + draw(st.text(string.ascii_lowercase + string.digits + "-", min_size=length - 2, max_size=length - 2))
            + draw(st.sampled_from(string.ascii_lowercase + string.digits)))
    if taken is not None:
        counter = 0
        while slug in taken:
            counter += 1
            slug = slug[: max_length - len(str(counter)) - 1] + "z" + str(counter)
        taken.add(slug)
    return slug


def _fqdn(draw) -> str:
    label = st.builds(
        lambda first, middle, last: first + middle + last if middle is not None else first,
        st.sampled_from(string.ascii_lowercase + string.digits),
        st.one_of(st.none(), st.text(string.ascii_lowercase + string.digits + "-", max_size=61)),
        st.sampled_from(string.ascii_lowercase + string.digits),
    ).map(lambda text: text[:63] if len(text) <= 63 else text[:62] + "a")
    labels = draw(st.lists(label, min_size=2, max_size=5))
    if _sometimes(draw, 8):  # the longest FQDN: 253 characters
        labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 61]
    return ".".join(labels)


def _location(draw) -> str:
    if _edge(draw, 8):  # a made-up location of 2-40 characters (LOCATION_RE)
        length = _length(draw, 2, 40)
        return draw(st.sampled_from(string.ascii_lowercase)) + draw(
            st.text(string.ascii_lowercase + string.digits, min_size=length - 1, max_size=length - 1))
    return draw(st.sampled_from(LOCATIONS))


def _email(draw) -> str:
    """EMAIL_RE: anything but @ and white space before the @, a lowercase domain after it."""
    local = draw(st.one_of(st.sampled_from(["support", "oncall", "first.last+tag"]),
                           st.text(SEGMENT_CHARACTERS.replace("@", "") + "ü", min_size=1, max_size=20)))
    domain = draw(st.lists(st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12),
                           min_size=2, max_size=3))
    return f"{local}@{'.'.join(domain)}"


def _url(draw) -> str:
    """HTTPS_URL_RE: a lowercase host, then letters, digits and . _ ~ / % ? & = + # -."""
    host = _fqdn(draw) if not _sometimes(draw, 3) else "contoso-saas.com"
    path = draw(st.one_of(st.just(""), st.text(ALNUM + "._~/%?&=+#-", max_size=60).map(lambda p: "/" + p)))
    url = f"https://{host}{path}"
    if _sometimes(draw, 8):
        url = (url + "/" + "a" * 512)[:512]
    return url


def _tags(draw) -> dict[str, str]:
    tags: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 4))):
        key = _free_text(draw, 512)
        if not _edge(draw, 6):  # Azure tag names may not hold < > % & \ ? / (gen.validate refuses them)
            key = "".join(c for c in key if c not in '<>%&\\?/').strip() or "owner"
        value = _free_text(draw, 256 if not _edge(draw, 12) else 300)
        tags[key] = value
    return tags


def _host(network: ipaddress.IPv4Network, offset: int) -> str:
    return str(network.network_address + offset)


def _usable_offsets(network: ipaddress.IPv4Network) -> list[int]:
    """Offsets of the addresses Azure lets you assign: not the first four, not the last."""
    return list(range(4, network.num_addresses - 1))


def _pick_addresses(draw, network: ipaddress.IPv4Network, count: int, used: set[str], skip: int = 0) -> list[str]:
    """`count` usable, so far unused addresses of `network`, beyond the first `skip` usable
    ones (which dynamic NAT IPs take first); sometimes (edge) one reserved, outside, already
    used or contested address."""
    usable = _usable_offsets(network)
    free = [offset for offset in usable[skip:] if _host(network, offset) not in used]
    odd_one = draw(st.integers(0, count - 1)) if _edge(draw, 12) else None
    addresses = []
    for index in range(count):
        if index == odd_one or not free:
            kind = draw(st.sampled_from(["reserved", "broadcast", "outside", "used", "contested"]))
            if kind == "reserved":
                address = _host(network, draw(st.integers(0, 3)))
            elif kind == "broadcast":
                address = str(network.broadcast_address)
            elif kind == "outside":
                address = str(network.broadcast_address + 1)
            elif kind == "contested" and usable:
                address = _host(network, usable[0])
            else:
                address = draw(st.sampled_from(sorted(used))) if used else _host(network, 4)
        else:
            offset = draw(st.one_of(st.sampled_from(free), st.just(free[0]), st.just(free[-1])))
            free.remove(offset)
            address = _host(network, offset)
        used.add(address)
        addresses.append(address)
    return addresses


PORTS = st.one_of(st.sampled_from([443, 80, 8443, 1, 65535, 22, 3389, 5432, 8080]), st.integers(1, 65535))


def _free_port(draw, taken: set[int], collide: bool = False) -> int:
    if collide and taken:
        return draw(st.sampled_from(sorted(taken)))
    port = draw(PORTS)
    while port in taken:
        port = port % 65535 + 1
    return port


# --- the manifest ---------------------------------------------------------------------------


class _Names:
    """Link service names handed out so far: unique across the manifest (lowercased), and the
    list edge cases pick near-collisions from."""

    def __init__(self):
        self.link_services: set[str] = set()
        self.link_service_list: list[str] = []


def _service(draw) -> tuple[dict[str, Any], list[int], bool]:
    service: dict[str, Any] = {"name": _slug(draw, max_length=32 if _edge(draw, 6) else 16), "fqdn": _fqdn(draw)}
    count = draw(st.one_of(st.integers(1, 3), st.just(16), st.integers(1, 16)))
    ports: list[int] = []
    for _ in range(count):
        ports.append(_free_port(draw, set(ports)))
    if _edge(draw, 10) and len(ports) < 16:  # the same port twice
        ports.insert(draw(st.integers(0, len(ports))), draw(st.sampled_from(ports)))
    service["ports"] = ports
    proxy_choice = draw(st.sampled_from(["absent", True, False]))
    if proxy_choice != "absent":
        service["proxy_protocol"] = proxy_choice
    support = draw(st.sampled_from(["absent", "email", "url", "both", "empty"]))
    if support == "empty" and not _edge(draw, 8):
        support = "absent"
    if support != "absent":
        service["support"] = {}
        if support in ("email", "both"):
            service["support"]["email"] = _email(draw)
        if support in ("url", "both"):
            service["support"]["url"] = _url(draw)
    if draw(st.booleans()):
        service["tags"] = _tags(draw)
    return service, ports, proxy_choice is not False


def _probe(draw, proxy: bool, backend_ports: list[int], nat_backend_ports: list[int], service_ports: list[int]) -> dict:
    protocol = draw(st.sampled_from(["Tcp", "Http", "Https"] if not proxy else ["Tcp", "Http"]))
    if proxy and _edge(draw, 15):
        protocol = "Https"
    if protocol == "Tcp" and (proxy and not _edge(draw, 15)):
        port = draw(st.sampled_from(backend_ports))
    else:
        choices = [p for p in [8080, 65535, 1, *service_ports, *nat_backend_ports] if p not in backend_ports or not proxy]
        port = draw(st.sampled_from(choices)) if choices and not _edge(draw, 4) else draw(PORTS)
        if proxy and protocol == "Http" and port in backend_ports and not _edge(draw, 6):
            port = _free_port(draw, set(backend_ports))
    probe: dict[str, Any] = {"protocol": protocol, "port": port}
    wants_path = protocol != "Tcp"
    if wants_path != _edge(draw, 30):
        length = _length(draw, 0, 200, typical=16)
        probe["path"] = "/" + draw(st.text(ALNUM + "._~/-", min_size=length, max_size=length))
    return probe


def _region(draw, r: int, location: str, ports: list[int], proxy: bool, names: _Names) -> tuple[dict, dict]:
    """One region, laid out in 10.(16+r).0.0/16: NAT subnet at .0.0, frontend subnet at .8.0,
    GatewaySubnet at .16.0 (edges: too small, overlapping)."""
    second = 16 + r
    region: dict[str, Any] = {"location": location}
    region["vnet"] = {"name": _name(draw, "virtual_network"), "resource_group": _name(draw, "resource_group")}
    link_service_count = draw(st.one_of(st.integers(1, 3), st.integers(1, 8)))
    if _edge(draw, 40):
        link_service_count = 9  # one more than a load balancer carries
    subnet_names: set[str] = set()
    # NAT IPs per link service first (a count, static addresses, or the default of one), then a
    # NAT subnet large enough for all of them
    nat_kinds = [draw(st.sampled_from(["dynamic", "static", "absent"])) for _ in range(link_service_count)]
    nat_counts = [1 if kind == "absent" else draw(st.one_of(st.integers(1, 3), st.integers(1, 8))) for kind in nat_kinds]
    sizes = [p for p in (28, 29, 27, 26, 24, 22) if 2 ** (32 - p) - 5 >= sum(nat_counts)]
    nat_prefix = draw(st.sampled_from(sizes))
    if _edge(draw, 30):
        nat_prefix = draw(st.sampled_from([29, 30, 31, 32]))  # maybe too small, maybe smaller than Azure allows
    nat_net = ipaddress.IPv4Network(f"10.{second}.0.0/{nat_prefix}")
    nat_subnet_name = _name(draw, "subnet", subnet_names)
    if _edge(draw, 40):
        nat_subnet_name = draw(st.sampled_from(["GatewaySubnet", "gatewaysubnet"]))
        subnet_names.add(nat_subnet_name.lower())
    region["nat_subnet"] = {"name": nat_subnet_name, "address_prefix": str(nat_net)}

    # the load balancer: created (with frontends in a subnet of its own) or existing
    create = draw(st.booleans())
    # a created load balancer's pool and probe are '<name>-backend' and '<name>-probe', its rules
    # '<frontend>-tcp-<port>'
    lb_name = _name(draw, "load_balancer", room=len("-backend") if create else 0)
    frontend_names: set[str] = set()
    frontends = [_name(draw, "frontend_ip_configuration", frontend_names, similar=sorted(frontend_names) or None,
                       room=len("-tcp-65535") if create else 0)
                 for _ in range(min(8, link_service_count + draw(st.integers(0, 2))))]
    routed_name = None
    info: dict[str, Any] = {"location": location, "vpn": False, "routed": False, "create": create}
    if create:
        routed = draw(st.booleans())
        needed = len(frontends) + (1 if routed else 0)
        sizes = [p for p in (28, 27, 29, 26, 24) if 2 ** (32 - p) - 5 >= needed]
        fe_prefix = draw(st.sampled_from(sizes))
        if _edge(draw, 30):
            fe_prefix = draw(st.sampled_from([29, 30, 32]))
        fe_net = ipaddress.IPv4Network(f"10.{second}.8.0/{fe_prefix}")
        if _edge(draw, 30):  # overlapping the NAT subnet
            fe_net = ipaddress.IPv4Network(f"10.{second}.0.0/{fe_prefix}")
        fe_subnet_name = _name(draw, "subnet", subnet_names, similar=[nat_subnet_name])
        if _edge(draw, 40):
            fe_subnet_name = draw(st.sampled_from(["GatewaySubnet", "gatewaysubnet"]))
        used: set[str] = set()
        created = {
            "frontend_subnet": {"name": fe_subnet_name, "address_prefix": str(fe_net)},
            "frontends": [{"name": name, "private_ip": ip}
                          for name, ip in zip(frontends, _pick_addresses(draw, fe_net, len(frontends), used))],
        }
        if routed:
            routed_name = _name(draw, "frontend_ip_configuration", frontend_names, similar=frontends,
                                room=len("-tcp-65535"))
            created["routed_frontend"] = {"name": routed_name, "private_ip": _pick_addresses(draw, fe_net, 1, used)[0]}
            info["routed"] = True
        info["frontend_subnet"] = fe_subnet_name
    else:
        region_lb_frontends = list(frontends)

    # link services, each on a frontend of its own
    link_services = []
    order = draw(st.permutations(frontends))
    nat_used: set[str] = set()
    dynamic_total = sum(count for kind, count in zip(nat_kinds, nat_counts) if kind != "static")
    for s, (kind, count) in enumerate(zip(nat_kinds, nat_counts)):
        name = _name(draw, "private_link_service", names.link_services, similar=names.link_service_list or None)
        if _edge(draw, 30):  # names that are words of Bicep, YAML or plgen's own generated symbols
            special = draw(st.sampled_from(["az", "sys", "Az", "SYS", "null", "true", "param", "resource",
                                            f"nat-subnet-{location}", f"load-balancer-{location}"]))
            if special.lower() not in names.link_services:
                name = special
                names.link_services.add(name.lower())
        names.link_service_list.append(name)
        frontend = order[s] if s < len(order) else draw(st.sampled_from(frontends))
        if _edge(draw, 40):
            frontend = draw(st.sampled_from([*frontends, *(f for f in [routed_name] if f), "fe-unknown"]))
        link_service: dict[str, Any] = {"name": name, "frontend": frontend}
        if kind == "dynamic":
            link_service["nat_ips"] = count
        elif kind == "static":
            link_service["nat_ips"] = _pick_addresses(draw, nat_net, count, nat_used, skip=dynamic_total)
        alias = draw(st.sampled_from(["absent", "null", "alias"]))
        if alias == "null":
            link_service["alias"] = None
        elif alias == "alias":
            where = location if not _edge(draw, 30) else "elsewhere"
            link_service["alias"] = f"{name}.{_guid(draw)}.{where}.azure.privatelinkservice"
        link_services.append(link_service)
    info["link_services"] = [ls["name"] for ls in link_services]

    lb: dict[str, Any] = {"name": lb_name}
    if create:
        used_frontends = [f for f in frontends if f in {ls["frontend"] for ls in link_services}]
        rule_count = (len(used_frontends) + (1 if routed_name else 0)) * len(ports)
        last_valid = 65536 - rule_count
        backend_port = draw(st.one_of(st.just(min(8443, last_valid)), st.integers(1, max(last_valid, 1)),
                                      st.just(max(last_valid, 1)), st.just(1)))
        if _edge(draw, 40):
            backend_port = draw(st.integers(max(last_valid, 1), 65535))
        created["backend_port"] = backend_port
        backend_ports = list(range(backend_port, backend_port + max(rule_count, 1)))
        # inbound NAT rules: on the routed frontend or unused frontends while PROXY protocol is on
        proxied = set(used_frontends) if proxy else set()
        eligible = [f for f in [*frontends, *([routed_name] if routed_name else [])] if f not in proxied]
        with_rules = set(used_frontends) | ({routed_name} if routed_name else set())
        taken_ports = {f: set(ports) if f in with_rules else set() for f in [*frontends, *([routed_name] if routed_name else [])]}
        rule_names: set[str] = set()
        nat_rules = []
        for _ in range(draw(st.integers(0, 3)) if (eligible or _edge(draw, 10)) else 0):
            frontend = draw(st.sampled_from(eligible)) if eligible and not _edge(draw, 15) else draw(
                st.sampled_from([*frontends, "fe-unknown"]))
            taken = taken_ports.setdefault(frontend, set())
            frontend_port = _free_port(draw, taken, collide=_edge(draw, 12))
            taken.add(frontend_port)
            nat_backend = draw(st.one_of(st.sampled_from([3389, 22, 5986]), st.sampled_from(backend_ports),
                                         st.sampled_from(ports), PORTS))
            nat_rules.append({"name": _name(draw, "inbound_nat_rule", rule_names,
                                            similar=[r["name"] for r in nat_rules] or None),
                              "frontend": frontend, "frontend_port": frontend_port, "backend_port": nat_backend})
        created["probe"] = _probe(draw, proxy, backend_ports, [r["backend_port"] for r in nat_rules], ports)
        if nat_rules:
            created["inbound_nat_rules"] = nat_rules
        # keys in the order an operator writes them
        lb["create"] = {key: created[key] for key in ("frontend_subnet", "frontends", "backend_port", "probe",
                                                      "routed_frontend", "inbound_nat_rules") if key in created}
        if _edge(draw, 40):
            lb["frontends"] = list(frontends)  # both forms at once
    else:
        lb["frontends"] = region_lb_frontends
    region["load_balancer"] = lb
    region["link_services"] = link_services

    # a NAT gateway for backend subnets; edges: the NAT subnet, the frontend subnet, GatewaySubnet, twice the same
    if draw(st.booleans()):
        choices = ["nat_subnet", "GatewaySubnet", "gatewaysubnet", "again"] + (["frontend_subnet"] if create else [])
        subnets: list[str] = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(choices)) if _edge(draw, 5) else "ordinary"
            if kind == "ordinary" or (kind == "again" and not subnets):
                subnets.append(_name(draw, "subnet", subnet_names))
            elif kind == "again":
                subnets.append(draw(st.sampled_from(subnets)))
            elif kind == "nat_subnet":
                subnets.append(nat_subnet_name)
            elif kind == "frontend_subnet":
                subnets.append(info["frontend_subnet"])
            else:
                subnets.append(kind)
        gateway: dict[str, Any] = {}
        if draw(st.booleans()):
            gateway["public_ips"] = draw(st.one_of(st.integers(1, 3), st.just(16), st.integers(1, 16)))
        if draw(st.booleans()):
            gateway["idle_timeout_minutes"] = draw(st.one_of(st.just(4), st.just(120), st.integers(4, 120)))
        gateway["subnets"] = subnets
        region["nat_gateway"] = gateway

    # a VPN gateway of any SKU and generation
    if draw(st.booleans()):
        sku = draw(st.sampled_from(VPN_SKUS))
        gateway_prefix = draw(st.sampled_from([27, 26, 25, 24]))
        if _edge(draw, 20):
            gateway_prefix = draw(st.sampled_from([28, 29]))
        gateway_net = ipaddress.IPv4Network(f"10.{second}.16.0/{gateway_prefix}")
        if _edge(draw, 30):  # overlapping the NAT subnet
            gateway_net = ipaddress.IPv4Network(f"10.{second}.0.0/{gateway_prefix}")
        vpn: dict[str, Any] = {"sku": sku, "gateway_subnet_prefix": str(gateway_net)}
        generation = draw(st.sampled_from(["absent", *VPN_SKU_GENERATIONS[sku]]))
        if _edge(draw, 10):
            generation = draw(st.sampled_from(VPN_GENERATIONS))
        if generation != "absent":
            vpn["generation"] = generation
        active_active = draw(st.sampled_from(["absent", True, False]))
        if active_active != "absent":
            vpn["active_active"] = active_active
        region["vpn_gateway"] = vpn
        info["vpn"] = True
    return region, info


def _segment(draw, kind: str, taken: set[str] | None = None) -> str:
    """A name inside an ARM id: one that follows RULES[kind], or (edge) anything the id's
    pattern allows ([^/\\s]+: metacharacters, non-ASCII letters)."""
    if _edge(draw, 10):
        segment = draw(ARM_SEGMENT)
        if taken is not None:
            taken.add(segment.lower())
        return segment
    return _name(draw, kind, taken)


def _endpoint(draw, subscriptions: list[str], vnets: set[str], groups: set[str], site: str | None) -> dict[str, Any]:
    subscription = draw(st.sampled_from(subscriptions)) if not _edge(draw, 20) else _guid(draw)
    vnet = _segment(draw, "virtual_network", vnets if not _edge(draw, 20) else None)
    endpoint: dict[str, Any] = {}
    if site is not None:
        endpoint["name"] = site
    endpoint["location"] = _location(draw)
    group = _name(draw, "resource_group", groups, similar=sorted(groups) or None)
    endpoint["resource_group"] = group
    endpoint["subnet_id"] = (f"/subscriptions/{subscription}/resourceGroups/{_segment(draw, 'resource_group')}/providers/"
                             f"Microsoft.Network/virtualNetworks/{vnet}/subnets/{_segment(draw, 'subnet')}")
    if draw(st.booleans()):
        endpoint["private_ip"] = str(draw(st.ip_addresses(v=4)))
    return endpoint


def _site_name(draw, taken: set[str]) -> str:
    """SITE_RE: 1-16 of a-z 0-9 -, a letter first, no hyphen last."""
    length = _length(draw, 1, 16, typical=6)
    if length == 1:
        name = draw(st.sampled_from(string.ascii_lowercase))
    else:
        name = (draw(st.sampled_from(string.ascii_lowercase))
                + draw(st.text(string.ascii_lowercase + string.digits + "-", min_size=length - 2, max_size=length - 2))
                + draw(st.sampled_from(string.ascii_lowercase + string.digits)))
    if name in taken and not _edge(draw, 8):
        name = (name[:13] + "s" + str(len(taken)))[:16]
    taken.add(name)
    return name


def _tenant(draw, regions: list[dict], tenant_ids: set[str], subscription_pool: list[tuple[str, str | None]]) -> dict[str, Any]:
    tenant: dict[str, Any] = {}
    tenant_id = _slug(draw, tenant_ids, max_length=32 if _edge(draw, 6) else 14)
    if _edge(draw, 60):
        tenant_id = draw(st.sampled_from(["con", "prn", "aux", "nul", "com1", "lpt9"]))
    elif tenant_ids and _edge(draw, 30):
        tenant_id = draw(st.sampled_from(sorted(tenant_ids)))
    tenant["id"] = tenant_id
    tenant["display_name"] = _free_text(draw, 1024)
    region = draw(st.sampled_from(regions))
    tenant["region"] = region["location"] if not _edge(draw, 30) else "nowhere"
    routable = region["vpn"] and region["routed"]
    vnet_to_vnet = draw(st.booleans()) if routable else _edge(draw, 30)
    link_services = region["link_services"]
    if not vnet_to_vnet:
        if len(link_services) > 1 and not _edge(draw, 30):
            tenant["link_service"] = draw(st.sampled_from(link_services))
        elif len(link_services) == 1 and draw(st.booleans()):
            tenant["link_service"] = link_services[0]
        elif _edge(draw, 20):
            tenant["link_service"] = "pls-unknown"
    state = draw(st.sampled_from(["absent", "active", "suspended", "offboarded"]))
    # the link service approvals match this tenant's subscriptions on (gen.naming.tenant_link_service)
    mine = None if vnet_to_vnet or state == "offboarded" else tenant.get(
        "link_service", link_services[0] if len(link_services) == 1 else None)
    # subscriptions: fresh ones, or ones a tenant elsewhere has too (edge: on the same link service)
    shareable = [sub for sub, owner in subscription_pool if mine is None or owner != mine]
    subscriptions = []
    for _ in range(draw(st.one_of(st.integers(1, 2), st.integers(1, 4)))):
        if shareable and _edge(draw, 4):
            subscriptions.append(draw(st.sampled_from(shareable)))
        elif subscription_pool and _edge(draw, 40):
            subscriptions.append(draw(st.sampled_from([sub for sub, _ in subscription_pool])))
        else:
            subscriptions.append(_guid(draw))
    if not _edge(draw, 30):
        subscriptions = list(dict.fromkeys(subscriptions))
    subscription_pool.extend((sub, mine) for sub in subscriptions)
    tenant["subscriptions"] = subscriptions
    approval = draw(st.sampled_from(["absent", "auto", "manual"]))
    if approval != "absent":
        tenant["approval"] = approval
    if not vnet_to_vnet or _edge(draw, 30):
        if draw(st.booleans()):
            # Azure counts characters, azurerm counts UTF-8 bytes: at most 140 of each (edge: more)
            tenant["request_message"] = (_free_text(draw, MAX_REQUEST_MESSAGE, max_bytes=MAX_REQUEST_MESSAGE)
                                         if not _edge(draw, 20) else _free_text(draw, MAX_REQUEST_MESSAGE + 5))
    if state != "absent":
        tenant["state"] = state
    if vnet_to_vnet:
        tenant["connectivity"] = "vnet_to_vnet"
    elif draw(st.booleans()):
        tenant["connectivity"] = "private_link"
    endpoint_kind = draw(st.sampled_from(["neither", "endpoint", "endpoint_sites"])) if not vnet_to_vnet else "neither"
    if _edge(draw, 40):
        endpoint_kind = "both"
    endpoints = draw(st.sampled_from(["absent", 0, 1, 2, 1000]))
    if endpoint_kind in ("endpoint_sites", "both") and endpoints != "absent" and not _edge(draw, 10):
        endpoints = "absent"
    if endpoints != "absent":
        tenant["endpoints"] = endpoints if endpoints != 1000 or _edge(draw, 4) else 3
    if draw(st.booleans()):
        tenant["expected_connections"] = draw(st.one_of(st.integers(0, 1000), st.just(0), st.integers(0, 10 ** 9)))
    vnets: set[str] = set()
    groups: set[str] = set()
    if endpoint_kind in ("endpoint", "both"):
        tenant["endpoint"] = _endpoint(draw, subscriptions, vnets, groups, None)
    if endpoint_kind in ("endpoint_sites", "both"):
        sites: set[str] = set()
        tenant["endpoint_sites"] = [_endpoint(draw, subscriptions, vnets, groups, _site_name(draw, sites))
                                    for _ in range(draw(st.integers(1, 4)))]
        if "endpoints" in tenant and not _edge(draw, 4):
            tenant["endpoints"] = len(tenant["endpoint_sites"])
    if vnet_to_vnet or _edge(draw, 40):
        gateway_subscription = draw(st.sampled_from(subscriptions)) if draw(st.booleans()) else _guid(draw)
        vault_length = _length(draw, 3, 24, typical=8)
        vault = (draw(st.sampled_from(string.ascii_letters))
                 + draw(st.text(ALNUM + "-", min_size=vault_length - 2, max_size=vault_length - 2))
                 + draw(st.sampled_from(ALNUM)))
        secret_length = _length(draw, 1, 127, typical=12)
        tenant["vnet_to_vnet"] = {
            "gateway_id": (f"/subscriptions/{gateway_subscription}/resourceGroups/{_segment(draw, 'resource_group')}"
                           f"/providers/Microsoft.Network/virtualNetworkGateways/{_segment(draw, 'virtual_network_gateway')}"),
            "shared_key_secret": {
                "key_vault_id": (f"/subscriptions/{_guid(draw)}/resourceGroups/{_segment(draw, 'resource_group')}/providers/"
                                 f"Microsoft.KeyVault/vaults/{vault}"),
                "name": draw(st.text(ALNUM + "-", min_size=secret_length, max_size=secret_length)),
            },
        }
    return tenant


@st.composite
def manifests(draw, max_regions: int = 3, max_tenants: int = 6) -> dict[str, Any]:
    """A manifest as plain data: mostly valid, with rare deliberate edges (see the module doc)."""
    draw = _Draw(draw, mode=draw(st.sampled_from(["none", "one", "many"])))
    service, ports, proxy = _service(draw)
    provider: dict[str, Any] = {"subscription_id": _guid(draw), "resource_group": _name(draw, "resource_group")}
    visibility = draw(st.sampled_from(["absent", "restricted", "public"]))
    if visibility != "absent":
        provider["visibility"] = visibility
    monitoring = draw(st.sampled_from(["absent", "empty", "email", "full"]))
    if monitoring != "absent":
        provider["monitoring"] = {}
        if monitoring in ("email", "full"):
            provider["monitoring"]["action_group_email"] = _email(draw)
        if monitoring == "full":
            provider["monitoring"]["nat_port_usage_percent"] = draw(st.one_of(st.just(1), st.just(100), st.integers(1, 100)))
    region_count = draw(st.integers(1, max_regions))
    locations: list[str] = []
    for _ in range(region_count):
        location = _location(draw)
        if location in locations and not _edge(draw, 20):
            location = next(loc for loc in LOCATIONS + [location + "x"] if loc not in locations)
        locations.append(location)
    names = _Names()
    regions, infos = [], []
    for r, location in enumerate(locations):
        region, info = _region(draw, r, location, ports, proxy, names)
        regions.append(region)
        infos.append(info)
    provider["regions"] = regions
    manifest: dict[str, Any] = {"version": 1, "service": service, "provider": provider}
    tenant_count = draw(st.integers(0, max_tenants))
    if tenant_count or draw(st.booleans()):
        tenant_ids: set[str] = set()
        pool: list[tuple[str, str | None]] = []
        manifest["tenants"] = [_tenant(draw, infos, tenant_ids, pool) for _ in range(tenant_count)]
    return manifest
