import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader, PdfWriter

from cases import services
from cases.models import Case, Document, Note

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def small_pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def person(staff, office, person_data):
    return services.register_person(by=staff["caseworker"], office=office, data=person_data())


def test_open_case_add_note_upload_and_download(page, staff, person, upload_root, login, t):
    login(page, staff["caseworker"])
    page.locator("nav").get_by_role("link", name=t["People"], exact=True).click()
    page.get_by_role("link", name="María José Núñez Pérez").click()
    expect(page.locator("#person-name")).to_have_text("María José Núñez Pérez")

    form = page.locator("#open-case-form")
    form.locator("#id_kind").select_option("trafficking")
    expect(form.locator("#id_assign_to_me")).to_be_checked()
    form.get_by_role("button", name=t["Open case"]).click()

    expect(page).to_have_url(re.compile(r"/cases/[0-9a-f-]{36}/$"))
    case = Case.objects.get()
    expect(page.locator("#case-reference")).to_contain_text(case.reference)
    assert case.kind == "trafficking"
    assert case.assigned_to == staff["caseworker"]

    # An empty note is refused beside the field; nothing is written.
    notes = page.locator("#notes")
    notes.get_by_role("button", name=t["Add note"]).click()
    expect(page.locator("#id_text_error")).to_have_text(t["required"])
    assert Note.objects.count() == 0
    page.fill("#id_text", "Entrevista inicial realizada.\nSolicita intérprete.")
    page.locator("#notes").get_by_role("button", name=t["Add note"]).click()
    expect(page.locator("#notes article")).to_have_count(1)
    expect(page.locator("#notes article")).to_contain_text("Solicita intérprete.")
    # Browsers send a textarea's line breaks as CRLF.
    assert Note.objects.get().text.splitlines() == ["Entrevista inicial realizada.",
                                                    "Solicita intérprete."]

    # A file that is neither a PDF nor a photo is refused with a message beside the field.
    documents = page.locator("#documents")
    documents.locator("#id_file").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just text"}]
    )
    documents.get_by_role("button", name=t["Upload"]).click()
    expect(page.locator("#id_file_error")).to_be_visible()
    assert Document.objects.count() == 0

    pdf = small_pdf("Declaración jurada")
    page.fill("#id_title", "Declaración jurada")
    page.locator("#documents #id_file").set_input_files(
        files=[{"name": "declaracion.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.locator("#documents").get_by_role("button", name=t["Upload"]).click()
    link = page.locator("#documents").get_by_role("link", name="Declaración jurada")
    expect(link).to_be_visible()
    expect(page.locator("#documents")).to_contain_text("declaracion.pdf")

    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        downloaded = PdfReader(fh)
        # The same page, without the document information (its title) it was uploaded with.
        assert len(downloaded.pages) == 1 and downloaded.metadata is None

    # On disk the file is sealed: neither the PDF nor its title can be read there.
    stored = [p.read_bytes() for p in upload_root.rglob("*") if p.is_file()]
    assert len(stored) == 1
    assert b"%PDF" not in stored[0]
    assert "Declaración".encode() not in stored[0]


@pytest.fixture
def queued_case(staff, person):
    return services.open_case(by=staff["caseworker"], person=person, kind="asylum",
                              assign_to_me=False)


def test_supervisor_assigns_a_queued_case_and_others_get_404(new_page, staff, queued_case,
                                                            login, t):
    page = new_page()
    login(page, staff["supervisor"])
    queue = page.locator("#queue")
    expect(queue.locator("h2")).to_contain_text(t["Unassigned queue"])
    queue.get_by_role("link", name=queued_case.reference).click()
    expect(page.locator("#case-reference")).to_contain_text(queued_case.reference)

    assignee = staff["caseworker2"]
    section = page.locator("#assignment")
    section.locator("#id_assignee").select_option(str(assignee.pk))
    section.locator("#id_reason").fill("Speaks Mam")
    section.locator("button[type=submit]").click()

    expect(page.locator("#assignee")).to_have_text(str(assignee))
    expect(page.locator(".alert-success")).to_be_visible()
    queued_case.refresh_from_db()
    assert queued_case.assigned_to == assignee

    # The assignee finds it among their cases.
    page = new_page()
    login(page, assignee)
    mine = page.locator("#my-cases")
    expect(mine.locator("h2")).to_have_text(t["My cases"])
    mine.get_by_role("link", name=queued_case.reference).click()
    expect(page.locator("#notes").get_by_role("button", name=t["Add note"])).to_be_visible()

    # A caseworker of another office: 404, as if the case did not exist.
    page = new_page()
    login(page, staff["other_caseworker"])
    response = page.goto(f"/cases/{queued_case.pk}/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text(queued_case.reference)

    # A caseworker of the same office no longer sees it: it left the queue.
    page = new_page()
    login(page, staff["caseworker"])
    assert page.goto(f"/cases/{queued_case.pk}/").status == 404
