"""The NMEA checksum of the AIS parser (ingest.formats.ais.nmea_checksum folds the bytes as one integer): the
XOR of the bytes, for every length, as the plain definition gives it."""

from __future__ import annotations

import random
from functools import reduce
from operator import xor

from ingest.formats import ais


def test_the_folded_checksum_is_the_xor_of_the_bytes():
    rnd = random.Random(5)
    for n in [*range(0, 140), 255, 1000]:
        for _ in range(20):
            data = rnd.randbytes(n)
            assert ais.nmea_checksum(data) == reduce(xor, data, 0), data
    sentence = b"!AIVDM,1,1,,A,144jNS0P2<1Oqh@PElw0UPL1P000,0*0F"  # assets/samples/ais.nmea
    assert ais.nmea_checksum(sentence[1:sentence.rindex(b"*")]) == 0x0F
