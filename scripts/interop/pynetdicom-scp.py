"""pynetdicom-scp.py PORT DIR: pynetdicom's storage SCP (any AE title), writing each instance to DIR."""
import os, sys
from pynetdicom import AE, AllStoragePresentationContexts, evt
from pynetdicom.sop_class import Verification
from pynetdicom import ALL_TRANSFER_SYNTAXES

port, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)


def handle_store(event):
    ds = event.dataset
    ds.file_meta = event.file_meta
    ds.save_as(os.path.join(out, ds.SOPInstanceUID + ".dcm"), enforce_file_format=True)
    return 0x0000


ae = AE(ae_title="PYNETDICOM_SCP")
ae.require_called_aet = False
for cx in AllStoragePresentationContexts:
    ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
ae.add_supported_context(Verification)
print("listening", flush=True)
ae.start_server(("127.0.0.1", port), block=True, evt_handlers=[(evt.EVT_C_STORE, handle_store)])
