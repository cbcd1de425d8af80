import datetime as dt

from shared.events import Role
from shared.responsibility import Tenure, responsible_on

D = dt.date
OLD_HEAD = Tenure("L1", "Nguyễn Văn An", Role.HEAD, None, D(2021, 6, 1), D(2025, 5, 31))
NEW_HEAD = Tenure("L2", "Trần Thị Bình", Role.HEAD, None, D(2025, 6, 1), None)
ACTING = Tenure("L3", "Lê Quốc Cường", Role.ACTING_HEAD, None, D(2025, 3, 16), D(2025, 7, 31))
DEPUTY = Tenure("L4", "Phạm Đức Dũng", Role.DEPUTY_IN_CHARGE, "public_investment_disbursement", D(2021, 6, 1), None)
DISBURSEMENT = "public_investment_disbursement"


def test_a_change_of_head_mid_year_splits_the_year() -> None:
    tenures = [OLD_HEAD, NEW_HEAD]
    assert responsible_on(tenures, DISBURSEMENT, D(2025, 5, 31)).head == OLD_HEAD
    assert responsible_on(tenures, DISBURSEMENT, D(2025, 6, 1)).head == NEW_HEAD


def test_an_acting_head_answers_while_in_post() -> None:
    tenures = [Tenure("L1", "A", Role.HEAD, None, D(2021, 6, 1), D(2025, 3, 15)), ACTING]
    assert responsible_on(tenures, DISBURSEMENT, D(2025, 4, 30)).head == ACTING


def test_a_vacant_post_names_no_one() -> None:
    assert responsible_on([OLD_HEAD], DISBURSEMENT, D(2025, 9, 30)).head is None


def test_the_deputy_in_charge_is_named_only_for_their_indicator() -> None:
    tenures = [NEW_HEAD, DEPUTY]
    assert responsible_on(tenures, DISBURSEMENT, D(2025, 9, 30)).deputy == DEPUTY
    assert responsible_on(tenures, "budget_revenue", D(2025, 9, 30)).deputy is None


def test_overlapping_records_take_the_later_appointment() -> None:
    still_open_old = Tenure("L1", "A", Role.HEAD, None, D(2021, 6, 1), None)
    assert responsible_on([still_open_old, NEW_HEAD], DISBURSEMENT, D(2025, 7, 1)).head == NEW_HEAD
