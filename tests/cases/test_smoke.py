from cases import selectors


def test_caseworker_registers_and_finds_person(caseworker, person, case):
    assert case.reference.startswith("BZ-BMP-")
    assert case.assigned_to == caseworker
    found = selectors.search_people(caseworker, name="nunez")
    assert found.people == [person]
