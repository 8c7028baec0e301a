"""pynetdicom-scu.py echo|store PORT [FILES...]: pynetdicom as the SCU against Arca (called AE STORE_SCP).

`store` proposes an asynchronous operations window of 8 (invoked) and sends every file, printing one status
per file; the exit code is non-zero if anything failed."""
import sys
from pydicom import dcmread
from pynetdicom import AE, StoragePresentationContexts
from pynetdicom.pdu_primitives import AsynchronousOperationsWindowNegotiation
from pynetdicom.sop_class import Verification

mode, port, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ae = AE(ae_title="PYNETDICOM")
if mode == "echo":
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="STORE_SCP")
    if not assoc.is_established:
        sys.exit("association failed")
    status = assoc.send_c_echo()
    assoc.release()
    print(f"echo 0x{status.Status:04X}")
    sys.exit(0 if status.Status == 0 else 1)

datasets = [dcmread(f) for f in files]
for ds in datasets:
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
window = AsynchronousOperationsWindowNegotiation()
window.maximum_number_operations_invoked = 8
window.maximum_number_operations_performed = 8
assoc = ae.associate("127.0.0.1", port, ae_title="STORE_SCP", ext_neg=[window])
if not assoc.is_established:
    sys.exit("association failed")
failed = 0
for f, ds in zip(files, datasets):
    status = assoc.send_c_store(ds)
    code = getattr(status, "Status", None)
    print(f"{f} 0x{code:04X}" if code is not None else f"{f} no response")
    failed += 0 if code == 0 else 1
assoc.release()
sys.exit(1 if failed else 0)
