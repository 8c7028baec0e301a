"""pynetdicom-commit.py PORT MODE FILES... [--bogus UID]: pynetdicom as a Storage Commitment SCU against Arca.

Sends one N-ACTION (Transaction UID, Referenced SOP Sequence of the files, plus --bogus UIDs never stored) and
waits for the N-EVENT-REPORT:
  same      keeps the association open and takes the report on it;
  new       releases at once and takes the report on an association Arca opens to our listener
            (the listener's AE is PYCOMMIT on port $PYCOMMIT_LISTEN, default PORT+1; Arca must know it as
            --remote PYCOMMIT=127.0.0.1:THAT_PORT).
Prints one JSON object: event type, committed and failed instances with failure reasons."""
import json
import os
import signal
import sys
import threading

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import StorageCommitmentPushModel

port, mode = int(sys.argv[1]), sys.argv[2]
args = sys.argv[3:]
bogus = []
if "--bogus" in args:
    i = args.index("--bogus")
    bogus = args[i + 1:]
    args = args[:i]

# Never hang a test run: whatever happens below, the process ends within two minutes (SIGALRM ends it).
signal.alarm(120)
report = {}
done = threading.Event()
# Set once the N-EVENT-REPORT-RSP is on the wire. pynetdicom sends it after the handler returns, from the association's
# thread: releasing as soon as the handler ran queued the A-RELEASE-RQ before that answer, and pynetdicom's state
# machine, asked to send P-DATA while awaiting A-RELEASE-RP (Evt9 in Sta7), ended its reactor thread; release() then
# waited for that thread for ever (the hangs of 2026-12-07), and Arca saw the report unanswered.
answered = threading.Event()


def on_report(event):
    info = event.event_information
    report["event"] = int(event.request.EventTypeID)
    report["transaction"] = str(info.TransactionUID)
    report["committed"] = [str(i.ReferencedSOPInstanceUID) for i in info.get("ReferencedSOPSequence", [])]
    report["failed"] = {str(i.ReferencedSOPInstanceUID): int(i.FailureReason) for i in info.get("FailedSOPSequence", [])}
    done.set()
    return 0x0000, None


def on_pdu_sent(event):
    # The first P-DATA-TF sent after the report arrived is its answer (a command alone: one PDU).
    if done.is_set() and event.pdu.__class__.__name__ == "P_DATA_TF":
        answered.set()


handlers = [(evt.EVT_N_EVENT_REPORT, on_report), (evt.EVT_PDU_SENT, on_pdu_sent)]
ae = AE(ae_title="PYCOMMIT")
ae.add_requested_context(StorageCommitmentPushModel)
server = None
if mode == "new":
    ae.add_supported_context(StorageCommitmentPushModel, scu_role=True, scp_role=True)
    listen = int(os.environ.get("PYCOMMIT_LISTEN", port + 1))
    server = ae.start_server(("127.0.0.1", listen), block=False, evt_handlers=handlers)

info = Dataset()
info.TransactionUID = generate_uid()
refs = []
for f in args:
    ds = dcmread(f, stop_before_pixels=True)
    item = Dataset()
    item.ReferencedSOPClassUID = ds.SOPClassUID
    item.ReferencedSOPInstanceUID = ds.SOPInstanceUID
    refs.append(item)
for uid in bogus:
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = uid
    refs.append(item)
info.ReferencedSOPSequence = refs

assoc = ae.associate("127.0.0.1", port, ae_title="STORE_SCP", evt_handlers=handlers if mode == "same" else [])
if not assoc.is_established:
    sys.exit("association failed")
status, _ = assoc.send_n_action(info, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")
if getattr(status, "Status", None) != 0:
    sys.exit(f"N-ACTION status {status}")


def release_within(seconds):
    """pynetdicom's release() first waits for its reactor thread to pause, for ever if that thread has already
    ended (the connection closed under it): seen twice in 2026-12-07's CI runs. Released from a thread of its
    own, given `seconds`."""
    releasing = threading.Thread(target=assoc.release, daemon=True)
    releasing.start()
    releasing.join(seconds)


if mode == "same":
    done.wait(30)
    answered.wait(10)
release_within(10)
if mode == "new":
    done.wait(30)
    server.shutdown()
if not done.is_set():
    sys.exit("no report within 30 s")
report["transaction_matches"] = report.get("transaction") == str(info.TransactionUID)
print(json.dumps(report))
sys.stdout.flush()
os._exit(0)  # not waiting for pynetdicom's threads, one of which may be the stuck release
