#!/usr/bin/python3
"""make_seeds.py -- write the hand-made seed inputs of every fuzz target
into corpus/<target>/seed-<name> (next to this file), from what real
clients and pdns send (test/system/test_protocol.py, test_backend.py,
shared/reference/*.md) and from the example config.

Run once before growing a corpus with libFuzzer (README.md); the files it
writes are checked in with the rest of the corpus.  Python 3 stdlib only,
plus the openssl command line tool for the signed JWT seeds (with the test
keys embedded in fuzz_jwt.c)."""

import base64
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SECRET = 'Fuzz0Secret0Fuzz0Secret0'   # fuzz.h FUZZ_SECRET
CONF_SECRET = '/tmp/ddns-fuzz-conf-secret'  # fuzz_conf.c SECRET_PATH


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


# ---- dyndns2 ---------------------------------------------------------------

def http(method, target, headers=(), body=b'', version='HTTP/1.1'):
    lines = ['%s %s %s' % (method, target, version), 'Host: ddns.example.org']
    lines += ['%s: %s' % h for h in headers]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body


def basic(user, pw=SECRET):
    return ('Authorization', 'Basic ' + b64(user + ':' + pw))


def dyndns2():
    h = 'h.dyn.example.org'
    q = '/nic/update?hostname=%s&myip=%s'
    seeds = {
        'ddclient': http('GET', '/nic/update?system=dyndns&hostname=%s'
                         '&myip=192.0.2.10&wildcard=ON&mx=&backmx=NO'
                         '&offline=NO' % h,
                         [basic(h), ('User-Agent', 'ddclient/3.10.0')]),
        'inadyn-v6': http('GET', q % (h, '2001:db8::5'),
                          [basic(h), ('User-Agent', 'inadyn/2.9.1')]),
        'dual': http('GET', q % (h, '192.0.2.10,2001:db8::10'), [basic(h)]),
        'myipv4-v6': http('GET', '/nic/update?hostname=%s&myipv4=192.0.2.11'
                          '&myipv6=2001:db8::11' % h, [basic(h)]),
        'ipv6-param': http('GET', '/update?hostname=%s&ipv6=2001:db8::12' % h,
                           [basic(h)]),
        'query-creds': http('GET', '/nic/update?username=%s&password=%s'
                            '&myip=192.0.2.12' % (h, SECRET)),
        'post-form': http('POST', '/nic/update',
                          [basic(h), ('Content-Type',
                                      'application/x-www-form-urlencoded; '
                                      'charset=utf-8'),
                           ('Content-Length', '39')],
                          b'hostname=h.dyn.example.org&myip=1.2.3.4'),
        'absolute': http('GET', 'http://ddns.example.org:8080/v3/update?'
                         'hostname=%s&myip=192.0.2.13#frag' % h, [basic(h)]),
        'client-addr': http('GET', '/nic/update', [basic(h)]),
        'myip': http('GET', '/myip', [('X-Forwarded-For',
                                       '198.51.100.7, 10.1.2.3')]),
        'bearer': http('GET', q % (h, '192.0.2.14'),
                       [('Authorization', 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.x')]),
        'broken-b64': http('GET', q % (h, '192.0.2.15'),
                           [('Authorization', 'Basic !!!')]),
        'no-colon': http('GET', q % (h, '192.0.2.15'),
                         [('Authorization', 'Basic ' + b64(h))]),
        'wrong-secret': http('GET', q % (h, '192.0.2.16'),
                             [basic(h, 'wrongwrongwrongwrongwron')]),
        'secret-colon': http('GET', q % (h, '192.0.2.16'),
                             [basic(h, 'a:b:' + SECRET)]),
        'unknown-user': http('GET', q % ('nobody.dyn.example.org',
                                         '192.0.2.17'),
                             [basic(SECRET, SECRET)]),
        'blocked': http('GET', q % ('blocked.dyn.example.org', '192.0.2.18'),
                        [basic('blocked.dyn.example.org')]),
        'abuse': http('GET', q % ('abuse.dyn.example.org', '192.0.2.18'),
                      [basic('abuse.dyn.example.org')]),
        'corrupt': http('GET', q % ('corrupt.dyn.example.org', '192.0.2.19'),
                        [basic('corrupt.dyn.example.org')]),
        'nochg': http('GET', q % (h, '192.0.2.1,2001:db8::1'), [basic(h)]),
        'tls-mark': http('GET', q % ('v4.dyn.example.org', '192.0.2.2'),
                         [basic('v4.dyn.example.org')]),
        'tls-conn': http('GET', q % ('v4.dyn.example.org', '192.0.2.2'),
                         [basic('v4.dyn.example.org'), ('X-Fuzz-TLS', '1')]),
        'proxy-xff': http('GET', '/nic/update?hostname=' + h,
                          [basic(h), ('X-Forwarded-For', '192.0.2.20, ::1'),
                           ('X-Forwarded-For', '10.0.0.1'),
                           ('X-Forwarded-Proto', 'https')]),
        'proxy-real-ip': http('GET', '/nic/update',
                              [basic(h), ('X-Real-IP', '2001:db8::21')]),
        'untrusted-peer': http('GET', '/nic/update',
                               [basic(h), ('X-Fuzz-Peer', '203.0.113.5'),
                                ('X-Forwarded-For', '192.0.2.22')]),
        'head': http('HEAD', q % (h, '192.0.2.23'), [basic(h)]),
        'list': http('GET', q % ('h.dyn.example.org,nohost.dyn.example.org,'
                                 'bad_name,x,%20h.dyn.example.org.',
                                 '192.0.2.24'), [basic(h)]),
        'numhost': http('GET', q % (','.join([h] * 21), '192.0.2.25'),
                        [basic(h)]),
        'escapes': http('GET', '/nic/update?HostName=h%2Edyn.example.org'
                        '&myip=192.0.2.26+&myip=1.1.1.1&%zz', [basic(h)]),
        'bad-addrs': http('GET', q % (h, '256.1.1.1'), [basic(h)]),
        'bad-addrs2': http('GET', '/nic/update?myip=01.2.3.4&myipv4=1.2.3'
                           '&myipv6=::ffff:1.2.3.4', [basic(h)]),
        'fritzbox': http('GET', '/nic/update?hostname=%s&myip=192.0.2.27'
                         '&ipv6=2001:db8:1::/56' % h, [basic(h)]),
        'mixed-case': http('GET', q % ('H.DYN.Example.Org', '192.0.2.28'),
                           [basic('H.Dyn.Example.ORG.')]),
        'idn': http('GET', q % ('b%C3%BCcher.dyn.example.org', '192.0.2.29'),
                    [basic('h.dyn.example.org')]),
        'notfound': http('GET', '/nic/updatex', [basic(h)]),
        'txt': http('GET', '/nic/update?hostname=%s&txt=LoqXcYV8q5ONbJQx'
                    'bmR7SCTNo3tiAXDfowyjxAjEuX0' % h, [basic(h)]),
        'txt-addr': http('GET', '/nic/update?hostname=%s&txt=abc&myip='
                         '192.0.2.30' % h, [basic(h)]),
        'txt-del': http('GET', '/nic/update?hostname=%s&txt=abc&clear=1' % h,
                        [basic(h)]),
        'clear': http('GET', '/nic/update?hostname=%s&clear' % h, [basic(h)]),
        'clear-no': http('GET', '/nic/update?hostname=%s&clear=off&myip='
                         '192.0.2.31' % h, [basic(h)]),
        'clear-bad': http('GET', '/nic/update?hostname=%s&clear=maybe' % h,
                          [basic(h)]),
        'txt-bad': http('GET', '/nic/update?hostname=%s&txt=a%%20b' % h,
                        [basic(h)]),
        'txt-abuse': http('GET', '/nic/update?hostname=abuse.dyn.example.org'
                          '&txt=abc', [basic('abuse.dyn.example.org')]),
        'txt-post': http('POST', '/nic/update',
                         [basic('w.dyn.example.org'),
                          ('Content-Type',
                           'application/x-www-form-urlencoded')],
                         b'hostname=w.dyn.example.org&txt=x-_%2B/=&clear=yes'),
    }
    for name, data in seeds.items():
        write('dyndns2', name, data)


# ---- rb_proto --------------------------------------------------------------

def lookup(qtype, qname, zone_id=-1, **extra):
    p = {'qtype': qtype, 'qname': qname, 'remote': '127.0.0.1',
         'local': '127.0.0.1', 'real-remote': '127.0.0.1/32',
         'zone-id': zone_id}
    p.update(extra)
    return json.dumps({'method': 'lookup', 'parameters': p})


def rb_proto():
    one = {
        'initialize': '{"method":"initialize","parameters":{"command":"",'
                      '"timeout":"2000","path":"/run/ddns/backend.sock"}}',
        'soa': lookup('SOA', 'dyn.example.org.'),
        'any-host': lookup('ANY', 'h.dyn.example.org.', 1),
        'a': lookup('A', 'v4.dyn.example.org.', 1),
        'aaaa': lookup('AAAA', 'o.other.test.', 3),
        'ns': lookup('NS', 'sub.dyn.example.org.'),
        'wildcard': lookup('ANY', 'x.y.w.dyn.example.org.'),
        'wildcard-star': lookup('A', '*.w.dyn.example.org.'),
        'abuse': lookup('ANY', 'abuse.dyn.example.org.'),
        'blocked': lookup('A', 'blocked.dyn.example.org.'),
        'corrupt': lookup('ANY', 'corrupt.dyn.example.org.'),
        'empty': lookup('ANY', 'empty.dyn.example.org.'),
        'nested': lookup('ANY', 'x.sub.dyn.example.org.', 2),
        'absent': lookup('ANY', 'nothing.example.com.'),
        'case': lookup('ANY', 'H.Dyn.Example.ORG.'),
        'escaped': '{"method":"lookup","parameters":{"qtype":"A",'
                   '"qname":"h\\u002edyn.example.org.","zone-id":-1}}',
        'spaces': ' { "method" : "lookup" , "parameters" : { "qtype" : "SOA",'
                  ' "qname" : "other.test." , "zone-id" : null } } \r',
        'flat-extra': '{"parameters":{"zone-id":1,"qname":"h.dyn.example.org.",'
                      '"qtype":"ANY","x":true,"y":false,"z":null},'
                      '"method":"lookup"}',
        'get-all-domains': '{"method":"getAllDomains","parameters":'
                           '{"include_disabled":false}}',
        'domain-info': '{"method":"getDomainInfo","parameters":'
                       '{"name":"dyn.example.org."}}',
        'all-metadata': '{"method":"getAllDomainMetadata","parameters":'
                        '{"name":"dyn.example.org."}}',
        'metadata': '{"method":"getDomainMetadata","parameters":'
                    '{"name":"other.test.","kind":"PRESIGNED"}}',
        'list': '{"method":"list","parameters":{"zonename":'
                '"dyn.example.org.","domain_id":1,"include_disabled":false}}',
        'list-other': '{"method":"list","parameters":{"zonename":'
                      '"other.test.","domain_id":3}}',
        'set-notified': '{"method":"setNotified","parameters":'
                        '{"id":1,"serial":2024010101}}',
        'updated-masters': '{"method":"getUpdatedMasters","parameters":{}}',
        'set-notified-3': '{"method":"setNotified","parameters":'
                          '{"id":3,"serial":4294967295}}',
        'domain-keys': '{"method":"getDomainKeys","parameters":'
                       '{"name":"dyn.example.org."}}',
        'add-key': json.dumps({'method': 'addDomainKey', 'parameters': {
            'name': 'other.test.', 'key': {
                'flags': 256, 'active': True, 'published': False,
                'content': 'Private-key-format: v1.2\nAlgorithm: 13 '
                           '(ECDSAP256SHA256)\nPrivateKey: '
                           'Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm8=\n'}}}),
        'remove-key': '{"method":"removeDomainKey","parameters":'
                      '{"name":"dyn.example.org.","id":1}}',
        'activate-key': '{"method":"activateDomainKey","parameters":'
                        '{"name":"dyn.example.org.","id":1}}',
        'deactivate-key': '{"method":"deactivateDomainKey","parameters":'
                          '{"name":"dyn.example.org.","id":1}}',
        'publish-key': '{"method":"publishDomainKey","parameters":'
                       '{"name":"dyn.example.org.","id":1}}',
        'unpublish-key': '{"method":"unpublishDomainKey","parameters":'
                         '{"name":"dyn.example.org.","id":1}}',
        'set-meta': '{"method":"setDomainMetadata","parameters":'
                    '{"name":"other.test.","kind":"NSEC3PARAM",'
                    '"value":["1 0 0 -"]}}',
        'set-meta-none': '{"method":"setDomainMetadata","parameters":'
                         '{"name":"dyn.example.org.","kind":"SOA-EDIT",'
                         '"value":[]}}',
        'meta-soa-edit': '{"method":"getDomainMetadata","parameters":'
                         '{"name":"dyn.example.org.","kind":"SOA-EDIT"}}',
        'before-after': '{"method":"getBeforeAndAfterNamesAbsolute",'
                        '"parameters":{"id":1,"qname":"h"}}',
        'before-after-apex': '{"method":"getBeforeAndAfterNamesAbsolute",'
                             '"parameters":{"id":3,"qname":""}}',
        'before-after-wild': '{"method":"getBeforeAndAfterNamesAbsolute",'
                             '"parameters":{"id":1,"qname":"*.w"}}',
        'tsig': '{"method":"getTSIGKey","parameters":{"name":"k."}}',
        'unknown': '{"method":"nope"}',
        'qtype-int': '{"method":"lookup","parameters":{"qtype":1}}',
        'no-params': '{"method":"lookup","parameters":{}}',
        'garbage': 'garbage',
        'array': '[1,2,3]',
        'dup-key': '{"method":"lookup","method":"list","parameters":'
                   '{"qtype":"A","qname":"h.dyn.example.org."}}',
    }
    for name, line in one.items():
        write('rb_proto', name, line + '\n')
    session = [one['initialize'], one['get-all-domains'], one['soa'],
               one['any-host'], one['a'], lookup('ANY', 'h.dyn.example.org.'),
               one['wildcard'], one['aaaa'], one['domain-info'],
               lookup('ANY', 'w.dyn.example.org.', 1), one['nested'],
               lookup('SOA', 'dyn.example.org.', 1)]
    write('rb_proto', 'session', '\n'.join(session) + '\n')
    dnssec = [one['domain-keys'], one['add-key'],
              one['add-key'].replace('other.test.', 'dyn.example.org.'),
              one['domain-keys'], one['deactivate-key'],
              one['unpublish-key'], one['domain-keys'],
              one['remove-key'], one['domain-keys'], one['set-meta'],
              '{"method":"getAllDomainMetadata","parameters":'
              '{"name":"other.test."}}', one['set-meta-none'],
              one['meta-soa-edit'], one['updated-masters'],
              one['set-notified-3'], one['updated-masters']]
    write('rb_proto', 'session-dnssec', '\n'.join(dnssec) + '\n')
    nsec = [one['before-after'], one['before-after-apex'],
            one['before-after-wild'],
            '{"method":"getBeforeAndAfterNamesAbsolute","parameters":'
            '{"id":2,"qname":"zzz"}}',
            '{"method":"getBeforeAndAfterNamesAbsolute","parameters":'
            '{"id":1,"qname":"a.b.c"}}']
    write('rb_proto', 'session-nsec', '\n'.join(nsec) + '\n')


# ---- conf ------------------------------------------------------------------

def conf():
    with open(os.path.join(ROOT, 'ddns.conf.example'), 'rb') as f:
        example = f.read()
    write('conf', 'example', example)
    uncomment = re.sub(rb'(?m)^#(?=[a-z_\[])', b'', example)
    uncomment = uncomment.replace(b'/etc/ddns/egi-client-secret',
                                  CONF_SECRET.encode())
    # fuzz_conf.c skips a config that reads a secret file and names /run/
    uncomment = uncomment.replace(b'/run/', b'/srv/')
    write('conf', 'example-all', uncomment)
    write('conf', 'minimal', '[store]\npath = /var/lib/ddns\n')
    write('conf', 'crlf', '[store]\r\npath=/s\r\nmap_size=512M\r\n'
          '[log]\r\nlevel=debug\r\n')
    write('conf', 'oidc', '''[store]
path = /s
[portal]
public_url = https://ddns.example.org
local_login = no
session_lifetime = 3600
[oidc egi]
title = EGI Check-in
issuer = https://aai.egi.eu/auth/realms/egi
client_id = ddns
client_secret_file = %s
groups_claim = eduperson_entitlement
admin_group = urn:mace:egi.eu:group:ddns:role=admin#aai.egi.eu
token_auth_method = client_secret_post
[oidc local_test-1]
issuer = http://127.0.0.1:9999
client_id = c
client_secret = s3cr3t
allow_http = yes
''' % CONF_SECRET)
    write('conf', 'lists', '''[store]
path = /s
[updater]
listen = 127.0.0.1:8080 [::1]:8080
listen = 0.0.0.0:80
tls_listen = [::]:443
tls_cert = /c.pem
tls_key = /k.pem
trusted_proxies = 127.0.0.1 ::1 10.0.0.0/8 2001:db8::/32
max_connections_per_source = 0
[backend]
listen = unix:/run/ddns/backend.sock http:127.0.0.1:8081
socket_mode = 0600
[abuse]
client_faults = 0
fault_window = 60
''')
    write('conf', 'errors', '[store]\npath = /s\nmap_size = 1Q\n')
    write('conf', 'unknown', '[stor]\npath = /s\n')
    write('conf', 'tls-alone', '[store]\npath=/s\n[updater]\n'
          'tls_listen = 127.0.0.1:8443\n')
    write('conf', 'continued', '[store]\npath = /s\n[updater]\n'
          'listen = 127.0.0.1:1\n  127.0.0.1:2\n; comment\n# comment\n')
    write('conf', 'numbers', '18446744073709551615\n[store]\npath=/s\n'
          'map_size = 1T\n')


# ---- names and addresses ---------------------------------------------------

def names():
    seeds = {
        'host-zone': 'h.dyn.example.org\ndyn.example.org',
        'trailing-dot': 'H.Dyn.Example.Org.\nexample.org.',
        'idn': 'B\u00fccher.example.\nexample',
        'alabel': 'xn--bcher-kva.example\nxn--bcher-kva.example',
        'wild': '*.w.dyn.example.org\nw.dyn.example.org',
        'mailbox': 'hostmaster@example.org',
        'mailbox-dots': 'first.last+tag@Example.ORG.',
        'label63': 'a' * 63 + '.example.org',
        'label64': 'a' * 64 + '.example.org',
        'name253': '.'.join(['a' * 61] * 4) + '.abcd',
        'name254': '.'.join(['a' * 61] * 4) + '.abcde',
        'empty-label': 'a..b',
        'hyphen': '-a.b-.c',
        'underscore': '_dmarc.example.org',
        'key': 'org.example.dyn.h',
        'nul': 'a\x00b.example',
        'emoji': '\U0001f600.example\nexample',
        'single': 'localhost',
    }
    for name, s in seeds.items():
        write('names', name, s)


def addrs():
    seeds = ['192.0.2.1', '2001:db8::1', '::ffff:1.2.3.4', '256.1.1.1',
             '1.2.3', '01.2.3.4', '2001:db8::/56', '1.2.3.4/32',
             '1.2.3.4/33', '127.0.0.1:8080', '[::1]:8080', '[::1]:0',
             '10.0.0.0/8', '::1/128', '0.0.0.0', '::', '224.0.0.1',
             'ff02::1', 'fe80::1%eth0', ' 192.0.2.1', '1.2.3.4:65536',
             '::ffff:0:1.2.3.4', '2001:DB8:0:0:0:0:0:1']
    for i, s in enumerate(seeds):
        write('addr', '%02d' % i, s)


# ---- stored values (layouts: schema/lmdb-v2.md, lmdb-v1.md for migrate,
# backend-state-v1.md; selectors: fuzz_decode.c) ---------------------------

def sstr(s):
    b = s.encode() if isinstance(s, str) else s
    return bytes([len(b)]) + b


def decode_v1():
    host = (b'\x01' + struct.pack('>II', 1, 0x27) + bytes([192, 0, 2, 1]) +
            bytes(range(16)) + struct.pack('>qq', 1700000000, 1700000100) +
            bytes(range(16)) + bytes(range(32)) +
            struct.pack('>IIIqI', 3, 1, 2, 1700000050, 9))
    fault = (b'\x01' + struct.pack('>qIB', 1700000000, 3, 1) +
             sstr('nochg 192.0.2.1'))
    return (('v1-host', 7, host), ('v1-fault', 8, fault),
            ('v1-fault-empty', 8, b'\x01' + struct.pack('>qIB', 0, 0, 0) +
             b'\x00'))


def decode_v2():
    def host(flags, v4=b'', v6=b'', owner=0):
        return (b'\x02' + struct.pack('>IIIII', 1, flags, 1700000000,
                                      1700000300, owner) +
                b'\x11' * 16 + b'\x22' * 32 + v4 + v6)
    fault = (b'\x02' + struct.pack('>IIIIIIB', 7, 0, 0, 1700000300,
                                   1700000000, 7, 1) +
             sstr('nochg 192.0.2.1'))
    fault0 = b'\x02' + bytes(24) + b'\x00\x00'
    return (('host', 1, host(0x01, bytes([192, 0, 2, 1]), owner=7)),
            ('host-none', 1, host(0x04)),
            ('host-v6', 1, host(0x42, v6=bytes(range(16)))),
            ('host-both', 1, host(0x80000023, bytes([192, 0, 2, 1]),
                                  bytes(range(16)))),
            ('fault', 2, fault), ('fault-none', 2, fault0))


def decode_challenge():
    def val(expires, v):
        return struct.pack('>q', expires) + sstr(v)
    tok = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0'
    return (('challenge', 6, b'\x01' + struct.pack('>qB', 1700000000, 2) +
             val(1700003600, tok) + val(1700000700, 'a+b/c=')),
            ('challenge-empty', 6, b'\x01' + struct.pack('>qB', 0, 0)),
            ('challenge-full', 6, b'\x01' + struct.pack('>qB', 1, 8) +
             b''.join(val(i, 'v%d' % i) for i in range(8))))


def decode_state():
    pk = (b'Private-key-format: v1.2\nAlgorithm: 13 (ECDSAP256SHA256)\n'
          b'PrivateKey: Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm96Zm8=\n')
    kkey = b'dyn.example.org\x00' + struct.pack('>I', 1)
    key = b'\x01' + struct.pack('>IB', 257, 3) + pk
    meta = (b'\x01' + struct.pack('>H', 2) + struct.pack('>H', 19) +
            b'INCEPTION-INCREMENT' + struct.pack('>H', 0))
    return (('state-key', 9, bytes([len(kkey)]) + kkey + key),
            ('state-key-zsk', 9, bytes([len(kkey)]) + kkey + b'\x01' +
             struct.pack('>IB', 256, 0) + b'x'),
            ('state-meta', 10, meta),
            ('state-meta-nsec3', 10, b'\x01\x00\x01\x00\x0a1 0 1 ab'
             b'cdef'),
            ('state-meta-none', 10, b'\x01\x00\x00'))


def decode():
    zone = (b'\x01' + struct.pack('>IIBq', 1, 60, 0, 1700000000) +
            b'\x02' + sstr('ns1.example.org') + sstr('ns2.example.org') +
            sstr('hostmaster.example.org') + b'\x01\x02' +
            sstr('staff') + sstr('urn:x:\u00e9quipe'))
    zone_plain = (b'\x01' + struct.pack('>IIBq', 7, 120, 1, 0) + b'\x01' +
                  sstr('ns.other.test') + sstr('first\\.last.other.test') +
                  b'\x00\x00')
    user = (b'\x01' + struct.pack('>Iq', 1, 1700000000) + sstr('alice') +
            sstr('Alice \u00c9') + sstr('alice@example.org') +
            sstr('$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA') +
            sstr('https://id.example.org') + sstr('sub-1') + b'\x02' +
            sstr('staff') + sstr('admins'))
    user_local = (b'\x01' + struct.pack('>Iq', 0, 0) + sstr('bob') +
                  sstr('') + sstr('') + sstr('') + sstr('') + sstr('') +
                  b'\x00')
    session = b'\x01' + struct.pack('>Iqq', 5, 1700000000, 1700043200) + \
        bytes(range(16))
    token = b'\x01' + struct.pack('>Iq', 5, 1700000000) + sstr('laptop')
    seeds = (('zone', 0, zone), ('zone-plain', 0, zone_plain),
             ('user', 3, user), ('user-local', 3, user_local),
             ('session', 4, session), ('token', 5, token))
    for name, sel, val in (seeds + decode_v2() + decode_v1() +
                           decode_challenge() + decode_state()):
        write('decode', name, bytes([sel]) + val)


# ---- ACME ------------------------------------------------------------------

def acme():
    tok = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0'
    bodies = {
        'present': {'fqdn': '_acme-challenge.h.dyn.example.org.',
                    'value': tok},
        'nodot': {'fqdn': '_acme-challenge.v4.dyn.example.org',
                  'value': 'abc'},
        'upper': {'fqdn': '_ACME-Challenge.H.Dyn.Example.Org.',
                  'value': tok, 'extra': [1, {'a': None}]},
        'wild': {'fqdn': '_acme-challenge.w.dyn.example.org.', 'value': tok},
        'nohost': {'fqdn': '_acme-challenge.nohost.dyn.example.org.',
                   'value': tok},
        'corrupt': {'fqdn': '_acme-challenge.corrupt.dyn.example.org.',
                    'value': tok},
        'bad-value': {'fqdn': '_acme-challenge.h.dyn.example.org.',
                      'value': 'a b'},
        'no-prefix': {'fqdn': 'h.dyn.example.org.', 'value': tok},
        'number': {'fqdn': '_acme-challenge.h.dyn.example.org.', 'value': 1},
    }
    for name, b in bodies.items():
        write('acme', 'body-' + name, b'\x00' + json.dumps(b).encode())
    write('acme', 'body-dup', b'\x00{"fqdn":"a","fqdn":"b","value":"c"}')
    write('acme', 'body-bad', b'\x00{"fqdn": "_acme-challenge.\xc3')
    write('acme', 'body-array', b'\x00[]')
    for i, n in enumerate(['_acme-challenge.h.dyn.example.org.',
                           '_acme-challenge.org', '_acme-challenge.',
                           '_acme-challenge.a..b', '_ACME-CHALLENGE.X.Y.']):
        write('acme', 'name-%d' % i, b'\x01' + n.encode())
    write('acme', 'ops', b'\x02\x03' + bytes([0, 10, 4, 20, 8, 30, 12, 40,
                                                1, 2, 15, 0, 100]))
    write('acme', 'ops-max1', b'\x02\x01' + bytes([0, 50, 4, 40, 8, 60,
                                                    0, 70]))


# ---- JWT, JWKS and OIDC ----------------------------------------------------

def pem_of(name):
    with open(os.path.join(HERE, 'fuzz_jwt.c')) as f:
        src = f.read()
    m = re.search(r'static const char %s\[\] =\n((?:\s+"[^"]*"\n?)+);' % name,
                  src)
    return ''.join(re.findall(r'"([^"]*)"', m.group(1))).replace('\\n', '\n')


def openssl(args, data=None):
    return subprocess.run(['openssl'] + args, input=data, check=True,
                          capture_output=True).stdout


def der_ints(der):
    """r and s of a DER ECDSA-Sig-Value."""
    out, i = [], 2
    for _ in range(2):
        n = der[i + 1]
        out.append(int.from_bytes(der[i + 2:i + 2 + n], 'big'))
        i += 2 + n
    return out


def sign(keyfile, alg, signing_input):
    args = ['dgst', '-sha256', '-sign', keyfile]
    if alg == 'PS256':
        args += ['-sigopt', 'rsa_padding_mode:pss',
                 '-sigopt', 'rsa_pss_saltlen:digest']
    sig = openssl(args, signing_input)
    if alg == 'ES256':
        r, s = der_ints(sig)
        sig = r.to_bytes(32, 'big') + s.to_bytes(32, 'big')
    return sig


def token(keyfile, header, payload, alg):
    si = (b64url(json.dumps(header).encode()) + '.' +
          b64url(json.dumps(payload).encode())).encode()
    return si + b'.' + b64url(sign(keyfile, alg, si)).encode()


def jwks_of(ec_file, rsa_file):
    spki = openssl(['pkey', '-in', ec_file, '-pubout', '-outform', 'DER'])
    x, y = spki[-64:-32], spki[-32:]
    mod = openssl(['rsa', '-in', rsa_file, '-noout', '-modulus'])
    n = bytes.fromhex(mod.decode().strip().split('=')[1])
    ec = {'kty': 'EC', 'crv': 'P-256', 'kid': 'ec1', 'alg': 'ES256',
          'use': 'sig', 'x': b64url(x), 'y': b64url(y)}
    rsa = {'kty': 'RSA', 'kid': 'rsa1', 'use': 'sig', 'n': b64url(n),
           'e': 'AQAB'}
    return ec, rsa


def jwt():
    iss, aud, now = 'https://id.example.org', 'ddns-portal', 1700000000
    claims = {'iss': iss, 'aud': aud, 'sub': 'alice', 'iat': now,
              'exp': now + 3600, 'nonce': 'n0nce', 'name': 'Alice',
              'email': 'alice@example.org', 'email_verified': True,
              'groups': ['staff', 'admins']}
    with tempfile.TemporaryDirectory() as tmp:
        ec_file, rsa_file = os.path.join(tmp, 'ec'), os.path.join(tmp, 'rsa')
        for path, name in ((ec_file, 'ec_pem'), (rsa_file, 'rsa_pem')):
            with open(path, 'w') as f:
                f.write(pem_of(name))
        good = {
            'es256': token(ec_file, {'alg': 'ES256', 'kid': 'ec1',
                                     'typ': 'JWT'}, claims, 'ES256'),
            'rs256': token(rsa_file, {'alg': 'RS256', 'kid': 'rsa1'},
                           dict(claims, aud=[aud, 'other'], azp=aud),
                           'RS256'),
            'ps256': token(rsa_file, {'alg': 'PS256'},
                           dict(claims, nbf=now - 10, iat=now + 0.5),
                           'PS256'),
            'expired': token(ec_file, {'alg': 'ES256', 'kid': 'ec1'},
                             dict(claims, exp=now - 3600), 'ES256'),
        }
        ec, rsa = jwks_of(ec_file, rsa_file)
    for name, tok in good.items():
        write('jwt', 'token-' + name, b'\x00' + tok)
    write('jwt', 'token-none', b'\x00' + (
        b64url(b'{"alg":"none"}') + '.' + b64url(json.dumps(claims).encode())
        + '.').encode())
    write('jwt', 'token-hs256', b'\x00' + (
        b64url(b'{"alg":"HS256","kid":"rsa1"}') + '.' +
        b64url(b'{}') + '.' + b64url(b'\x00' * 32)).encode())
    write('jwt', 'token-junk', b'\x00a.b.c')
    # mode 1: header LF payload, signed by the harness
    heads = {0: {'alg': 'ES256', 'kid': 'ec1'}, 1: {'alg': 'RS256',
                                                  'kid': 'rsa1'},
             2: {'alg': 'PS256', 'kid': 'rsa1', 'typ': 'JWT'}}
    variants = {
        'good': claims,
        'aud-list': dict(claims, aud=[aud, 'x']),
        'azp': dict(claims, aud=[aud, 'x'], azp=aud),
        'azp-other': dict(claims, azp='x'),
        'nbf-future': dict(claims, nbf=now + 3600),
        'iat-real': dict(claims, iat=now + 0.25, exp=now + 1e9),
        'no-sub': {k: v for k, v in claims.items() if k != 'sub'},
        'wrong-nonce': dict(claims, nonce='other'),
        'groups-str': dict(claims, groups='admins', name='',
                           given_name='Al\u00efce', family_name='S'),
        'long-names': dict(claims, given_name='\u00e9' * 70 + 'x' * 3,
                           family_name='y' * 200,
                           preferred_username='\u20ac' * 50,
                           email='a' * 300 + '@x'),
    }
    for k, head in heads.items():
        for name, c in variants.items():
            data = (json.dumps(head) + '\n' + json.dumps(c)).encode()
            write('jwt', 'signed-%d-%s' % (k, name), bytes([1, k]) + data)
    write('jwt', 'signed-crit', b'\x01\x00' + json.dumps(
        {'alg': 'ES256', 'crit': ['b64'], 'b64': False}).encode() + b'\n{}')
    write('jwt', 'signed-at-jwt', b'\x01\x02' + json.dumps(
        {'alg': 'PS256', 'typ': 'at+jwt'}).encode() + b'\n' +
        json.dumps(claims).encode())
    write('jwt', 'signed-nonce-off', b'\x01\x06' + json.dumps(
        heads[0]).encode() + b'\n' + json.dumps(
        {k: v for k, v in claims.items() if k != 'nonce'}).encode())
    # mode 2: key sets
    sets = {
        'both': {'keys': [ec, rsa]},
        'ec-only': {'keys': [ec]},
        'unusable': {'keys': [dict(rsa, use='enc'),
                              dict(ec, crv='P-384'),
                              {'kty': 'oct', 'k': 'AAAA'},
                              dict(rsa, key_ops=['encrypt']),
                              dict(ec, alg='RS256'),
                              dict(rsa, n=b64url(b'\xc3' * 64))]},
        'x5c': {'keys': [dict(rsa, x5c=['MIIB'], alg='PS256'),
                         dict(ec, key_ops=['verify'])]},
        'no-keys': {'keys': []},
        'not-array': {'keys': {}},
    }
    for name, doc in sets.items():
        write('jwt', 'jwks-' + name, b'\x02' + json.dumps(doc).encode())
    for i, s in enumerate(['', 'QQ', 'QUI', 'QUJD', 'QR', '_-8', 'a+b/',
                           'QQ==']):
        write('jwt', 'b64-%d' % i, b'\x03' + s.encode())


def oidc():
    disc = {
        'issuer': 'https://id.example.org',
        'authorization_endpoint': 'https://id.example.org/auth',
        'token_endpoint': 'https://id.example.org/token',
        'userinfo_endpoint': 'https://id.example.org/userinfo',
        'jwks_uri': 'https://id.example.org/certs',
        'response_types_supported': ['code', 'id_token'],
        'code_challenge_methods_supported': ['plain', 'S256'],
        'id_token_signing_alg_values_supported': ['RS256', 'ES256'],
        'token_endpoint_auth_methods_supported': ['client_secret_post',
                                                  'private_key_jwt'],
    }
    write('oidc', 'disc', b'\x00' + json.dumps(disc).encode())
    write('oidc', 'disc-http', b'\x18' + json.dumps(
        dict(disc, token_endpoint='http://id.example.org/token')).encode())
    write('oidc', 'disc-minimal', b'\x00' + json.dumps(
        {k: disc[k] for k in ('issuer', 'authorization_endpoint',
                              'token_endpoint', 'jwks_uri',
                              'response_types_supported')}).encode())
    write('oidc', 'disc-bad', b'\x00' + json.dumps(
        dict(disc, code_challenge_methods_supported=['plain'],
             issuer='https://id.example.org/')).encode())
    claims = {'sub': 's', 'name': 'Alice \u00c9', 'preferred_username':
              'alice', 'email': 'alice@example.org', 'email_verified': True,
              'groups': ['staff', 'admins', 'staff', '', 'x\u0085y']}
    write('oidc', 'claims', b'\x01' + json.dumps(claims).encode())
    write('oidc', 'claims-given', b'\x01' + json.dumps(
        {'given_name': '\u00e9' * 80, 'family_name': 'B',
         'groups': 'admins', 'email': 'no-at'}).encode())
    for i, s in enumerate(['/portal/', '//evil.example', '/\\evil',
                           '/ok?x=1&y=%2F', 'https://evil', '/a\tb',
                           'a b+c~d']):
        write('oidc', 'str-%d' % i, b'\x02' + s.encode())


def main():
    for fn in (dyndns2, rb_proto, conf, names, addrs, decode, acme, jwt,
               oidc):
        fn()
    return 0


if __name__ == '__main__':
    sys.exit(main())
