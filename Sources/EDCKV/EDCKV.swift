// eDCKV: DICOM studies as sorted key-value files (docs/EDCKV-FORMAT.md).
