from decimal import Decimal

from services.projector.peers import PeerFigures, Standing, peer_standings, weighted_average

D = Decimal


def test_the_average_is_weighted_by_target_not_the_mean_of_rates() -> None:
    units = [PeerFigures("big", D(1000), D(900)), PeerFigures("small", D(10), D(1))]
    # mean of rates would be (90 % + 10 %) / 2 = 50 %; weighted: 901 / 1010
    assert weighted_average(units) == D("0.892079")


def test_standing_and_rank_with_ties_and_units_not_assessed() -> None:
    units = [
        PeerFigures("a", D(100), D(80)),
        PeerFigures("b", D(100), D(60)),
        PeerFigures("c", D(200), D(120)),  # same rate as b
        PeerFigures("d", D(100), D(10)),
        PeerFigures("no-target", None, D(50)),
        PeerFigures("cut-to-zero", D(0), D(5)),
        PeerFigures("late-plan", D(100), D(99), excluded=True),
    ]
    standings = {s.unit_code: s for s in peer_standings(units)}
    assert standings["a"].peer_average == D("0.54")  # 270 / 500
    assert [(u, standings[u].rank, standings[u].standing) for u in "abcd"] == [
        ("a", 1, Standing.AT_OR_ABOVE),
        ("b", 2, Standing.AT_OR_ABOVE),
        ("c", 2, Standing.AT_OR_ABOVE),
        ("d", 4, Standing.BELOW),
    ]
    for unit in ("no-target", "cut-to-zero", "late-plan"):
        assert standings[unit].standing is Standing.NOT_ASSESSED and standings[unit].rank is None


def test_a_group_with_nobody_assessed_has_no_average() -> None:
    standings = peer_standings([PeerFigures("x", None, D(1))])
    assert standings[0].peer_average is None and standings[0].standing is Standing.NOT_ASSESSED
