from tests.factories import make_topic, make_subscriber
from subscribers.models import OptIn
def test_smoke(app, client, session, outbox, csrf_disabled):
    t = make_topic(session, "foster", name="Foster care", category="Child welfare practice")
    session.commit()
    r = client.get("/subscribe"); assert r.status_code == 200, r.text
    r = client.post("/subscribe", data={"email": "A@Example.com", "topics": [str(t.id)]})
    assert r.status_code == 200, r.text
    assert len(outbox.sent) == 1
    print(outbox.sent[0].text)
