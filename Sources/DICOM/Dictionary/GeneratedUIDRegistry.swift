// GENERATED FILE - DO NOT EDIT. Made by scripts/gen-dictionary.py from pydicom 3.0.2's _uid_dict.UID_dictionary (PS3.6 Annex A).
// One tab-separated line per entry, parsed lazily at first use.
// Columns: UID, kind, flags (R retired, S storage SOP class, - none), keyword, name.

extension UIDRegistry {
    static let table: StaticString = #"""
1.2.840.10008.1.1	sopClass	-	Verification	Verification SOP Class
1.2.840.10008.1.2	transferSyntax	-	ImplicitVRLittleEndian	Implicit VR Little Endian
1.2.840.10008.1.2.1	transferSyntax	-	ExplicitVRLittleEndian	Explicit VR Little Endian
1.2.840.10008.1.2.1.98	transferSyntax	-	EncapsulatedUncompressedExplicitVRLittleEndian	Encapsulated Uncompressed Explicit VR Little Endian
1.2.840.10008.1.2.1.99	transferSyntax	-	DeflatedExplicitVRLittleEndian	Deflated Explicit VR Little Endian
1.2.840.10008.1.2.2	transferSyntax	R	ExplicitVRBigEndian	Explicit VR Big Endian
1.2.840.10008.1.2.4.50	transferSyntax	-	JPEGBaseline8Bit	JPEG Baseline (Process 1)
1.2.840.10008.1.2.4.51	transferSyntax	-	JPEGExtended12Bit	JPEG Extended (Process 2 and 4)
1.2.840.10008.1.2.4.52	transferSyntax	R	JPEGExtended35	JPEG Extended (Process 3 and 5)
1.2.840.10008.1.2.4.53	transferSyntax	R	JPEGSpectralSelectionNonHierarchical68	JPEG Spectral Selection, Non-Hierarchical (Process 6 and 8)
1.2.840.10008.1.2.4.54	transferSyntax	R	JPEGSpectralSelectionNonHierarchical79	JPEG Spectral Selection, Non-Hierarchical (Process 7 and 9)
1.2.840.10008.1.2.4.55	transferSyntax	R	JPEGFullProgressionNonHierarchical1012	JPEG Full Progression, Non-Hierarchical (Process 10 and 12)
1.2.840.10008.1.2.4.56	transferSyntax	R	JPEGFullProgressionNonHierarchical1113	JPEG Full Progression, Non-Hierarchical (Process 11 and 13)
1.2.840.10008.1.2.4.57	transferSyntax	-	JPEGLossless	JPEG Lossless, Non-Hierarchical (Process 14)
1.2.840.10008.1.2.4.58	transferSyntax	R	JPEGLosslessNonHierarchical15	JPEG Lossless, Non-Hierarchical (Process 15)
1.2.840.10008.1.2.4.59	transferSyntax	R	JPEGExtendedHierarchical1618	JPEG Extended, Hierarchical (Process 16 and 18)
1.2.840.10008.1.2.4.60	transferSyntax	R	JPEGExtendedHierarchical1719	JPEG Extended, Hierarchical (Process 17 and 19)
1.2.840.10008.1.2.4.61	transferSyntax	R	JPEGSpectralSelectionHierarchical2022	JPEG Spectral Selection, Hierarchical (Process 20 and 22)
1.2.840.10008.1.2.4.62	transferSyntax	R	JPEGSpectralSelectionHierarchical2123	JPEG Spectral Selection, Hierarchical (Process 21 and 23)
1.2.840.10008.1.2.4.63	transferSyntax	R	JPEGFullProgressionHierarchical2426	JPEG Full Progression, Hierarchical (Process 24 and 26)
1.2.840.10008.1.2.4.64	transferSyntax	R	JPEGFullProgressionHierarchical2527	JPEG Full Progression, Hierarchical (Process 25 and 27)
1.2.840.10008.1.2.4.65	transferSyntax	R	JPEGLosslessHierarchical28	JPEG Lossless, Hierarchical (Process 28)
1.2.840.10008.1.2.4.66	transferSyntax	R	JPEGLosslessHierarchical29	JPEG Lossless, Hierarchical (Process 29)
1.2.840.10008.1.2.4.70	transferSyntax	-	JPEGLosslessSV1	JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])
1.2.840.10008.1.2.4.80	transferSyntax	-	JPEGLSLossless	JPEG-LS Lossless Image Compression
1.2.840.10008.1.2.4.81	transferSyntax	-	JPEGLSNearLossless	JPEG-LS Lossy (Near-Lossless) Image Compression
1.2.840.10008.1.2.4.90	transferSyntax	-	JPEG2000Lossless	JPEG 2000 Image Compression (Lossless Only)
1.2.840.10008.1.2.4.91	transferSyntax	-	JPEG2000	JPEG 2000 Image Compression
1.2.840.10008.1.2.4.92	transferSyntax	-	JPEG2000MCLossless	JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)
1.2.840.10008.1.2.4.93	transferSyntax	-	JPEG2000MC	JPEG 2000 Part 2 Multi-component Image Compression
1.2.840.10008.1.2.4.94	transferSyntax	-	JPIPReferenced	JPIP Referenced
1.2.840.10008.1.2.4.95	transferSyntax	-	JPIPReferencedDeflate	JPIP Referenced Deflate
1.2.840.10008.1.2.4.100	transferSyntax	-	MPEG2MPML	MPEG2 Main Profile / Main Level
1.2.840.10008.1.2.4.100.1	transferSyntax	-	MPEG2MPMLF	Fragmentable MPEG2 Main Profile / Main Level
1.2.840.10008.1.2.4.101	transferSyntax	-	MPEG2MPHL	MPEG2 Main Profile / High Level
1.2.840.10008.1.2.4.101.1	transferSyntax	-	MPEG2MPHLF	Fragmentable MPEG2 Main Profile / High Level
1.2.840.10008.1.2.4.102	transferSyntax	-	MPEG4HP41	MPEG-4 AVC/H.264 High Profile / Level 4.1
1.2.840.10008.1.2.4.102.1	transferSyntax	-	MPEG4HP41F	Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1
1.2.840.10008.1.2.4.103	transferSyntax	-	MPEG4HP41BD	MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1
1.2.840.10008.1.2.4.103.1	transferSyntax	-	MPEG4HP41BDF	Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1
1.2.840.10008.1.2.4.104	transferSyntax	-	MPEG4HP422D	MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video
1.2.840.10008.1.2.4.104.1	transferSyntax	-	MPEG4HP422DF	Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video
1.2.840.10008.1.2.4.105	transferSyntax	-	MPEG4HP423D	MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video
1.2.840.10008.1.2.4.105.1	transferSyntax	-	MPEG4HP423DF	Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video
1.2.840.10008.1.2.4.106	transferSyntax	-	MPEG4HP42STEREO	MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2
1.2.840.10008.1.2.4.106.1	transferSyntax	-	MPEG4HP42STEREOF	Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2
1.2.840.10008.1.2.4.107	transferSyntax	-	HEVCMP51	HEVC/H.265 Main Profile / Level 5.1
1.2.840.10008.1.2.4.108	transferSyntax	-	HEVCM10P51	HEVC/H.265 Main 10 Profile / Level 5.1
1.2.840.10008.1.2.4.201	transferSyntax	-	HTJ2KLossless	High-Throughput JPEG 2000 Image Compression (Lossless Only)
1.2.840.10008.1.2.4.202	transferSyntax	-	HTJ2KLosslessRPCL	High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)
1.2.840.10008.1.2.4.203	transferSyntax	-	HTJ2K	High-Throughput JPEG 2000 Image Compression
1.2.840.10008.1.2.4.204	transferSyntax	-	JPIPHTJ2KReferenced	JPIP HTJ2K Referenced
1.2.840.10008.1.2.4.205	transferSyntax	-	JPIPHTJ2KReferencedDeflate	JPIP HTJ2K Referenced Deflate
1.2.840.10008.1.2.5	transferSyntax	-	RLELossless	RLE Lossless
1.2.840.10008.1.2.6.1	transferSyntax	R	RFC2557MIMEEncapsulation	RFC 2557 MIME encapsulation
1.2.840.10008.1.2.6.2	transferSyntax	R	XMLEncoding	XML Encoding
1.2.840.10008.1.2.7.1	transferSyntax	-	SMPTEST211020UncompressedProgressiveActiveVideo	SMPTE ST 2110-20 Uncompressed Progressive Active Video
1.2.840.10008.1.2.7.2	transferSyntax	-	SMPTEST211020UncompressedInterlacedActiveVideo	SMPTE ST 2110-20 Uncompressed Interlaced Active Video
1.2.840.10008.1.2.7.3	transferSyntax	-	SMPTEST211030PCMDigitalAudio	SMPTE ST 2110-30 PCM Digital Audio
1.2.840.10008.1.3.10	sopClass	-	MediaStorageDirectoryStorage	Media Storage Directory Storage
1.2.840.10008.1.4.1.1	wellKnownInstance	-	TalairachBrainAtlas	Talairach Brain Atlas Frame of Reference
1.2.840.10008.1.4.1.2	wellKnownInstance	-	SPM2T1	SPM2 T1 Frame of Reference
1.2.840.10008.1.4.1.3	wellKnownInstance	-	SPM2T2	SPM2 T2 Frame of Reference
1.2.840.10008.1.4.1.4	wellKnownInstance	-	SPM2PD	SPM2 PD Frame of Reference
1.2.840.10008.1.4.1.5	wellKnownInstance	-	SPM2EPI	SPM2 EPI Frame of Reference
1.2.840.10008.1.4.1.6	wellKnownInstance	-	SPM2FILT1	SPM2 FIL T1 Frame of Reference
1.2.840.10008.1.4.1.7	wellKnownInstance	-	SPM2PET	SPM2 PET Frame of Reference
1.2.840.10008.1.4.1.8	wellKnownInstance	-	SPM2TRANSM	SPM2 TRANSM Frame of Reference
1.2.840.10008.1.4.1.9	wellKnownInstance	-	SPM2SPECT	SPM2 SPECT Frame of Reference
1.2.840.10008.1.4.1.10	wellKnownInstance	-	SPM2GRAY	SPM2 GRAY Frame of Reference
1.2.840.10008.1.4.1.11	wellKnownInstance	-	SPM2WHITE	SPM2 WHITE Frame of Reference
1.2.840.10008.1.4.1.12	wellKnownInstance	-	SPM2CSF	SPM2 CSF Frame of Reference
1.2.840.10008.1.4.1.13	wellKnownInstance	-	SPM2BRAINMASK	SPM2 BRAINMASK Frame of Reference
1.2.840.10008.1.4.1.14	wellKnownInstance	-	SPM2AVG305T1	SPM2 AVG305T1 Frame of Reference
1.2.840.10008.1.4.1.15	wellKnownInstance	-	SPM2AVG152T1	SPM2 AVG152T1 Frame of Reference
1.2.840.10008.1.4.1.16	wellKnownInstance	-	SPM2AVG152T2	SPM2 AVG152T2 Frame of Reference
1.2.840.10008.1.4.1.17	wellKnownInstance	-	SPM2AVG152PD	SPM2 AVG152PD Frame of Reference
1.2.840.10008.1.4.1.18	wellKnownInstance	-	SPM2SINGLESUBJT1	SPM2 SINGLESUBJT1 Frame of Reference
1.2.840.10008.1.4.2.1	wellKnownInstance	-	ICBM452T1	ICBM 452 T1 Frame of Reference
1.2.840.10008.1.4.2.2	wellKnownInstance	-	ICBMSingleSubjectMRI	ICBM Single Subject MRI Frame of Reference
1.2.840.10008.1.4.3.1	wellKnownInstance	-	IEC61217FixedCoordinateSystem	IEC 61217 Fixed Coordinate System Frame of Reference
1.2.840.10008.1.4.3.2	wellKnownInstance	-	StandardRoboticArmCoordinateSystem	Standard Robotic-Arm Coordinate System Frame of Reference
1.2.840.10008.1.4.3.3	wellKnownInstance	-	IEC61217TableTopCoordinateSystem	IEC 61217 Table Top Coordinate System Frame of Reference
1.2.840.10008.1.4.4.1	wellKnownInstance	-	SRI24	SRI24 Frame of Reference
1.2.840.10008.1.4.5.1	wellKnownInstance	-	Colin27	Colin27 Frame of Reference
1.2.840.10008.1.4.6.1	wellKnownInstance	-	LPBA40AIR	LPBA40/AIR Frame of Reference
1.2.840.10008.1.4.6.2	wellKnownInstance	-	LPBA40FLIRT	LPBA40/FLIRT Frame of Reference
1.2.840.10008.1.4.6.3	wellKnownInstance	-	LPBA40SPM5	LPBA40/SPM5 Frame of Reference
1.2.840.10008.1.5.1	wellKnownInstance	-	HotIronPalette	Hot Iron Color Palette SOP Instance
1.2.840.10008.1.5.2	wellKnownInstance	-	PETPalette	PET Color Palette SOP Instance
1.2.840.10008.1.5.3	wellKnownInstance	-	HotMetalBluePalette	Hot Metal Blue Color Palette SOP Instance
1.2.840.10008.1.5.4	wellKnownInstance	-	PET20StepPalette	PET 20 Step Color Palette SOP Instance
1.2.840.10008.1.5.5	wellKnownInstance	-	SpringPalette	Spring Color Palette SOP Instance
1.2.840.10008.1.5.6	wellKnownInstance	-	SummerPalette	Summer Color Palette SOP Instance
1.2.840.10008.1.5.7	wellKnownInstance	-	FallPalette	Fall Color Palette SOP Instance
1.2.840.10008.1.5.8	wellKnownInstance	-	WinterPalette	Winter Color Palette SOP Instance
1.2.840.10008.1.9	sopClass	R	BasicStudyContentNotification	Basic Study Content Notification SOP Class
1.2.840.10008.1.20	transferSyntax	R	Papyrus3ImplicitVRLittleEndian	Papyrus 3 Implicit VR Little Endian
1.2.840.10008.1.20.1	sopClass	-	StorageCommitmentPushModel	Storage Commitment Push Model SOP Class
1.2.840.10008.1.20.1.1	wellKnownInstance	-	StorageCommitmentPushModelInstance	Storage Commitment Push Model SOP Instance
1.2.840.10008.1.20.2	sopClass	R	StorageCommitmentPullModel	Storage Commitment Pull Model SOP Class
1.2.840.10008.1.20.2.1	wellKnownInstance	R	StorageCommitmentPullModelInstance	Storage Commitment Pull Model SOP Instance
1.2.840.10008.1.40	sopClass	-	ProceduralEventLogging	Procedural Event Logging SOP Class
1.2.840.10008.1.40.1	wellKnownInstance	-	ProceduralEventLoggingInstance	Procedural Event Logging SOP Instance
1.2.840.10008.1.42	sopClass	-	SubstanceAdministrationLogging	Substance Administration Logging SOP Class
1.2.840.10008.1.42.1	wellKnownInstance	-	SubstanceAdministrationLoggingInstance	Substance Administration Logging SOP Instance
1.2.840.10008.2.6.1	codingScheme	-	DCMUID	DICOM UID Registry
1.2.840.10008.2.16.4	codingScheme	-	DCM	DICOM Controlled Terminology
1.2.840.10008.2.16.5	codingScheme	-	MA	Adult Mouse Anatomy Ontology
1.2.840.10008.2.16.6	codingScheme	-	UBERON	Uberon Ontology
1.2.840.10008.2.16.7	codingScheme	-	ITIS_TSN	Integrated Taxonomic Information System (ITIS) Taxonomic Serial Number (TSN)
1.2.840.10008.2.16.8	codingScheme	-	MGI	Mouse Genome Initiative (MGI)
1.2.840.10008.2.16.9	codingScheme	-	PUBCHEM_CID	PubChem Compound CID
1.2.840.10008.2.16.10	codingScheme	-	DC	Dublin Core
1.2.840.10008.2.16.11	codingScheme	-	NYUMCCG	New York University Melanoma Clinical Cooperative Group
1.2.840.10008.2.16.12	codingScheme	-	MAYONRISBSASRG	Mayo Clinic Non-radiological Images Specific Body Structure Anatomical Surface Region Guide
1.2.840.10008.2.16.13	codingScheme	-	IBSI	Image Biomarker Standardisation Initiative
1.2.840.10008.2.16.14	codingScheme	-	RO	Radiomics Ontology
1.2.840.10008.2.16.15	codingScheme	-	RADELEMENT	RadElement
1.2.840.10008.2.16.16	codingScheme	-	I11	ICD-11
1.2.840.10008.2.16.17	codingScheme	-	UNS	Unified numbering system (UNS) for metals and alloys
1.2.840.10008.2.16.18	codingScheme	-	RRID	Research Resource Identification
1.2.840.10008.3.1.1.1	applicationContextName	-	DICOMApplicationContext	DICOM Application Context Name
1.2.840.10008.3.1.2.1.1	sopClass	R	DetachedPatientManagement	Detached Patient Management SOP Class
1.2.840.10008.3.1.2.1.4	metaSOPClass	R	DetachedPatientManagementMeta	Detached Patient Management Meta SOP Class
1.2.840.10008.3.1.2.2.1	sopClass	R	DetachedVisitManagement	Detached Visit Management SOP Class
1.2.840.10008.3.1.2.3.1	sopClass	R	DetachedStudyManagement	Detached Study Management SOP Class
1.2.840.10008.3.1.2.3.2	sopClass	R	StudyComponentManagement	Study Component Management SOP Class
1.2.840.10008.3.1.2.3.3	sopClass	-	ModalityPerformedProcedureStep	Modality Performed Procedure Step SOP Class
1.2.840.10008.3.1.2.3.4	sopClass	-	ModalityPerformedProcedureStepRetrieve	Modality Performed Procedure Step Retrieve SOP Class
1.2.840.10008.3.1.2.3.5	sopClass	-	ModalityPerformedProcedureStepNotification	Modality Performed Procedure Step Notification SOP Class
1.2.840.10008.3.1.2.5.1	sopClass	R	DetachedResultsManagement	Detached Results Management SOP Class
1.2.840.10008.3.1.2.5.4	metaSOPClass	R	DetachedResultsManagementMeta	Detached Results Management Meta SOP Class
1.2.840.10008.3.1.2.5.5	metaSOPClass	R	DetachedStudyManagementMeta	Detached Study Management Meta SOP Class
1.2.840.10008.3.1.2.6.1	sopClass	R	DetachedInterpretationManagement	Detached Interpretation Management SOP Class
1.2.840.10008.4.2	serviceClass	-	Storage	Storage Service Class
1.2.840.10008.5.1.1.1	sopClass	-	BasicFilmSession	Basic Film Session SOP Class
1.2.840.10008.5.1.1.2	sopClass	-	BasicFilmBox	Basic Film Box SOP Class
1.2.840.10008.5.1.1.4	sopClass	-	BasicGrayscaleImageBox	Basic Grayscale Image Box SOP Class
1.2.840.10008.5.1.1.4.1	sopClass	-	BasicColorImageBox	Basic Color Image Box SOP Class
1.2.840.10008.5.1.1.4.2	sopClass	R	ReferencedImageBox	Referenced Image Box SOP Class
1.2.840.10008.5.1.1.9	metaSOPClass	-	BasicGrayscalePrintManagementMeta	Basic Grayscale Print Management Meta SOP Class
1.2.840.10008.5.1.1.9.1	metaSOPClass	R	ReferencedGrayscalePrintManagementMeta	Referenced Grayscale Print Management Meta SOP Class
1.2.840.10008.5.1.1.14	sopClass	-	PrintJob	Print Job SOP Class
1.2.840.10008.5.1.1.15	sopClass	-	BasicAnnotationBox	Basic Annotation Box SOP Class
1.2.840.10008.5.1.1.16	sopClass	-	Printer	Printer SOP Class
1.2.840.10008.5.1.1.16.376	sopClass	-	PrinterConfigurationRetrieval	Printer Configuration Retrieval SOP Class
1.2.840.10008.5.1.1.17	wellKnownInstance	-	PrinterInstance	Printer SOP Instance
1.2.840.10008.5.1.1.17.376	wellKnownInstance	-	PrinterConfigurationRetrievalInstance	Printer Configuration Retrieval SOP Instance
1.2.840.10008.5.1.1.18	metaSOPClass	-	BasicColorPrintManagementMeta	Basic Color Print Management Meta SOP Class
1.2.840.10008.5.1.1.18.1	metaSOPClass	R	ReferencedColorPrintManagementMeta	Referenced Color Print Management Meta SOP Class
1.2.840.10008.5.1.1.22	sopClass	-	VOILUTBox	VOI LUT Box SOP Class
1.2.840.10008.5.1.1.23	sopClass	-	PresentationLUT	Presentation LUT SOP Class
1.2.840.10008.5.1.1.24	sopClass	R	ImageOverlayBox	Image Overlay Box SOP Class
1.2.840.10008.5.1.1.24.1	sopClass	R	BasicPrintImageOverlayBox	Basic Print Image Overlay Box SOP Class
1.2.840.10008.5.1.1.25	wellKnownInstance	R	PrintQueueInstance	Print Queue SOP Instance
1.2.840.10008.5.1.1.26	sopClass	R	PrintQueueManagement	Print Queue Management SOP Class
1.2.840.10008.5.1.1.27	sopClass	RS	StoredPrintStorage	Stored Print Storage SOP Class
1.2.840.10008.5.1.1.29	sopClass	RS	HardcopyGrayscaleImageStorage	Hardcopy Grayscale Image Storage SOP Class
1.2.840.10008.5.1.1.30	sopClass	RS	HardcopyColorImageStorage	Hardcopy Color Image Storage SOP Class
1.2.840.10008.5.1.1.31	sopClass	R	PullPrintRequest	Pull Print Request SOP Class
1.2.840.10008.5.1.1.32	metaSOPClass	R	PullStoredPrintManagementMeta	Pull Stored Print Management Meta SOP Class
1.2.840.10008.5.1.1.33	sopClass	-	MediaCreationManagement	Media Creation Management SOP Class UID
1.2.840.10008.5.1.1.40	sopClass	-	DisplaySystem	Display System SOP Class
1.2.840.10008.5.1.1.40.1	wellKnownInstance	-	DisplaySystemInstance	Display System SOP Instance
1.2.840.10008.5.1.4.1.1.1	sopClass	S	ComputedRadiographyImageStorage	Computed Radiography Image Storage
1.2.840.10008.5.1.4.1.1.1.1	sopClass	S	DigitalXRayImageStorageForPresentation	Digital X-Ray Image Storage - For Presentation
1.2.840.10008.5.1.4.1.1.1.1.1	sopClass	S	DigitalXRayImageStorageForProcessing	Digital X-Ray Image Storage - For Processing
1.2.840.10008.5.1.4.1.1.1.2	sopClass	S	DigitalMammographyXRayImageStorageForPresentation	Digital Mammography X-Ray Image Storage - For Presentation
1.2.840.10008.5.1.4.1.1.1.2.1	sopClass	S	DigitalMammographyXRayImageStorageForProcessing	Digital Mammography X-Ray Image Storage - For Processing
1.2.840.10008.5.1.4.1.1.1.3	sopClass	S	DigitalIntraOralXRayImageStorageForPresentation	Digital Intra-Oral X-Ray Image Storage - For Presentation
1.2.840.10008.5.1.4.1.1.1.3.1	sopClass	S	DigitalIntraOralXRayImageStorageForProcessing	Digital Intra-Oral X-Ray Image Storage - For Processing
1.2.840.10008.5.1.4.1.1.2	sopClass	S	CTImageStorage	CT Image Storage
1.2.840.10008.5.1.4.1.1.2.1	sopClass	S	EnhancedCTImageStorage	Enhanced CT Image Storage
1.2.840.10008.5.1.4.1.1.2.2	sopClass	S	LegacyConvertedEnhancedCTImageStorage	Legacy Converted Enhanced CT Image Storage
1.2.840.10008.5.1.4.1.1.3	sopClass	RS	UltrasoundMultiFrameImageStorageRetired	Ultrasound Multi-frame Image Storage
1.2.840.10008.5.1.4.1.1.3.1	sopClass	S	UltrasoundMultiFrameImageStorage	Ultrasound Multi-frame Image Storage
1.2.840.10008.5.1.4.1.1.4	sopClass	S	MRImageStorage	MR Image Storage
1.2.840.10008.5.1.4.1.1.4.1	sopClass	S	EnhancedMRImageStorage	Enhanced MR Image Storage
1.2.840.10008.5.1.4.1.1.4.2	sopClass	S	MRSpectroscopyStorage	MR Spectroscopy Storage
1.2.840.10008.5.1.4.1.1.4.3	sopClass	S	EnhancedMRColorImageStorage	Enhanced MR Color Image Storage
1.2.840.10008.5.1.4.1.1.4.4	sopClass	S	LegacyConvertedEnhancedMRImageStorage	Legacy Converted Enhanced MR Image Storage
1.2.840.10008.5.1.4.1.1.5	sopClass	RS	NuclearMedicineImageStorageRetired	Nuclear Medicine Image Storage
1.2.840.10008.5.1.4.1.1.6	sopClass	RS	UltrasoundImageStorageRetired	Ultrasound Image Storage
1.2.840.10008.5.1.4.1.1.6.1	sopClass	S	UltrasoundImageStorage	Ultrasound Image Storage
1.2.840.10008.5.1.4.1.1.6.2	sopClass	S	EnhancedUSVolumeStorage	Enhanced US Volume Storage
1.2.840.10008.5.1.4.1.1.6.3	sopClass	S	PhotoacousticImageStorage	Photoacoustic Image Storage
1.2.840.10008.5.1.4.1.1.7	sopClass	S	SecondaryCaptureImageStorage	Secondary Capture Image Storage
1.2.840.10008.5.1.4.1.1.7.1	sopClass	S	MultiFrameSingleBitSecondaryCaptureImageStorage	Multi-frame Single Bit Secondary Capture Image Storage
1.2.840.10008.5.1.4.1.1.7.2	sopClass	S	MultiFrameGrayscaleByteSecondaryCaptureImageStorage	Multi-frame Grayscale Byte Secondary Capture Image Storage
1.2.840.10008.5.1.4.1.1.7.3	sopClass	S	MultiFrameGrayscaleWordSecondaryCaptureImageStorage	Multi-frame Grayscale Word Secondary Capture Image Storage
1.2.840.10008.5.1.4.1.1.7.4	sopClass	S	MultiFrameTrueColorSecondaryCaptureImageStorage	Multi-frame True Color Secondary Capture Image Storage
1.2.840.10008.5.1.4.1.1.8	sopClass	RS	StandaloneOverlayStorage	Standalone Overlay Storage
1.2.840.10008.5.1.4.1.1.9	sopClass	RS	StandaloneCurveStorage	Standalone Curve Storage
1.2.840.10008.5.1.4.1.1.9.1	sopClass	RS	WaveformStorageTrial	Waveform Storage - Trial
1.2.840.10008.5.1.4.1.1.9.1.1	sopClass	S	TwelveLeadECGWaveformStorage	12-lead ECG Waveform Storage
1.2.840.10008.5.1.4.1.1.9.1.2	sopClass	S	GeneralECGWaveformStorage	General ECG Waveform Storage
1.2.840.10008.5.1.4.1.1.9.1.3	sopClass	S	AmbulatoryECGWaveformStorage	Ambulatory ECG Waveform Storage
1.2.840.10008.5.1.4.1.1.9.1.4	sopClass	S	General32bitECGWaveformStorage	General 32-bit ECG Waveform Storage
1.2.840.10008.5.1.4.1.1.9.2.1	sopClass	S	HemodynamicWaveformStorage	Hemodynamic Waveform Storage
1.2.840.10008.5.1.4.1.1.9.3.1	sopClass	S	CardiacElectrophysiologyWaveformStorage	Cardiac Electrophysiology Waveform Storage
1.2.840.10008.5.1.4.1.1.9.4.1	sopClass	S	BasicVoiceAudioWaveformStorage	Basic Voice Audio Waveform Storage
1.2.840.10008.5.1.4.1.1.9.4.2	sopClass	S	GeneralAudioWaveformStorage	General Audio Waveform Storage
1.2.840.10008.5.1.4.1.1.9.5.1	sopClass	S	ArterialPulseWaveformStorage	Arterial Pulse Waveform Storage
1.2.840.10008.5.1.4.1.1.9.6.1	sopClass	S	RespiratoryWaveformStorage	Respiratory Waveform Storage
1.2.840.10008.5.1.4.1.1.9.6.2	sopClass	S	MultichannelRespiratoryWaveformStorage	Multi-channel Respiratory Waveform Storage
1.2.840.10008.5.1.4.1.1.9.7.1	sopClass	S	RoutineScalpElectroencephalogramWaveformStorage	Routine Scalp Electroencephalogram Waveform Storage
1.2.840.10008.5.1.4.1.1.9.7.2	sopClass	S	ElectromyogramWaveformStorage	Electromyogram Waveform Storage
1.2.840.10008.5.1.4.1.1.9.7.3	sopClass	S	ElectrooculogramWaveformStorage	Electrooculogram Waveform Storage
1.2.840.10008.5.1.4.1.1.9.7.4	sopClass	S	SleepElectroencephalogramWaveformStorage	Sleep Electroencephalogram Waveform Storage
1.2.840.10008.5.1.4.1.1.9.8.1	sopClass	S	BodyPositionWaveformStorage	Body Position Waveform Storage
1.2.840.10008.5.1.4.1.1.9.100.1	sopClass	S	WaveformPresentationStateStorage	Waveform Presentation State Storage
1.2.840.10008.5.1.4.1.1.9.100.2	sopClass	S	WaveformAcquisitionPresentationStateStorage	Waveform Acquisition Presentation State Storage
1.2.840.10008.5.1.4.1.1.10	sopClass	RS	StandaloneModalityLUTStorage	Standalone Modality LUT Storage
1.2.840.10008.5.1.4.1.1.11	sopClass	RS	StandaloneVOILUTStorage	Standalone VOI LUT Storage
1.2.840.10008.5.1.4.1.1.11.1	sopClass	S	GrayscaleSoftcopyPresentationStateStorage	Grayscale Softcopy Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.2	sopClass	S	ColorSoftcopyPresentationStateStorage	Color Softcopy Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.3	sopClass	S	PseudoColorSoftcopyPresentationStateStorage	Pseudo-Color Softcopy Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.4	sopClass	S	BlendingSoftcopyPresentationStateStorage	Blending Softcopy Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.5	sopClass	S	XAXRFGrayscaleSoftcopyPresentationStateStorage	XA/XRF Grayscale Softcopy Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.6	sopClass	S	GrayscalePlanarMPRVolumetricPresentationStateStorage	Grayscale Planar MPR Volumetric Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.7	sopClass	S	CompositingPlanarMPRVolumetricPresentationStateStorage	Compositing Planar MPR Volumetric Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.8	sopClass	S	AdvancedBlendingPresentationStateStorage	Advanced Blending Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.9	sopClass	S	VolumeRenderingVolumetricPresentationStateStorage	Volume Rendering Volumetric Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.10	sopClass	S	SegmentedVolumeRenderingVolumetricPresentationStateStorage	Segmented Volume Rendering Volumetric Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.11	sopClass	S	MultipleVolumeRenderingVolumetricPresentationStateStorage	Multiple Volume Rendering Volumetric Presentation State Storage
1.2.840.10008.5.1.4.1.1.11.12	sopClass	S	VariableModalityLUTSoftcopyPresentationStateStorage	Variable Modality LUT Softcopy Presentation State Storage
1.2.840.10008.5.1.4.1.1.12.1	sopClass	S	XRayAngiographicImageStorage	X-Ray Angiographic Image Storage
1.2.840.10008.5.1.4.1.1.12.1.1	sopClass	S	EnhancedXAImageStorage	Enhanced XA Image Storage
1.2.840.10008.5.1.4.1.1.12.2	sopClass	S	XRayRadiofluoroscopicImageStorage	X-Ray Radiofluoroscopic Image Storage
1.2.840.10008.5.1.4.1.1.12.2.1	sopClass	S	EnhancedXRFImageStorage	Enhanced XRF Image Storage
1.2.840.10008.5.1.4.1.1.12.3	sopClass	RS	XRayAngiographicBiPlaneImageStorage	X-Ray Angiographic Bi-Plane Image Storage
1.2.840.10008.5.1.4.1.1.12.77	sopClass	R		
1.2.840.10008.5.1.4.1.1.13.1.1	sopClass	S	XRay3DAngiographicImageStorage	X-Ray 3D Angiographic Image Storage
1.2.840.10008.5.1.4.1.1.13.1.2	sopClass	S	XRay3DCraniofacialImageStorage	X-Ray 3D Craniofacial Image Storage
1.2.840.10008.5.1.4.1.1.13.1.3	sopClass	S	BreastTomosynthesisImageStorage	Breast Tomosynthesis Image Storage
1.2.840.10008.5.1.4.1.1.13.1.4	sopClass	S	BreastProjectionXRayImageStorageForPresentation	Breast Projection X-Ray Image Storage - For Presentation
1.2.840.10008.5.1.4.1.1.13.1.5	sopClass	S	BreastProjectionXRayImageStorageForProcessing	Breast Projection X-Ray Image Storage - For Processing
1.2.840.10008.5.1.4.1.1.14.1	sopClass	S	IntravascularOpticalCoherenceTomographyImageStorageForPresentation	Intravascular Optical Coherence Tomography Image Storage - For Presentation
1.2.840.10008.5.1.4.1.1.14.2	sopClass	S	IntravascularOpticalCoherenceTomographyImageStorageForProcessing	Intravascular Optical Coherence Tomography Image Storage - For Processing
1.2.840.10008.5.1.4.1.1.20	sopClass	S	NuclearMedicineImageStorage	Nuclear Medicine Image Storage
1.2.840.10008.5.1.4.1.1.30	sopClass	S	ParametricMapStorage	Parametric Map Storage
1.2.840.10008.5.1.4.1.1.40	sopClass	R		
1.2.840.10008.5.1.4.1.1.66	sopClass	S	RawDataStorage	Raw Data Storage
1.2.840.10008.5.1.4.1.1.66.1	sopClass	S	SpatialRegistrationStorage	Spatial Registration Storage
1.2.840.10008.5.1.4.1.1.66.2	sopClass	S	SpatialFiducialsStorage	Spatial Fiducials Storage
1.2.840.10008.5.1.4.1.1.66.3	sopClass	S	DeformableSpatialRegistrationStorage	Deformable Spatial Registration Storage
1.2.840.10008.5.1.4.1.1.66.4	sopClass	S	SegmentationStorage	Segmentation Storage
1.2.840.10008.5.1.4.1.1.66.5	sopClass	S	SurfaceSegmentationStorage	Surface Segmentation Storage
1.2.840.10008.5.1.4.1.1.66.6	sopClass	S	TractographyResultsStorage	Tractography Results Storage
1.2.840.10008.5.1.4.1.1.66.7	sopClass	S	LabelMapSegmentationStorage	Label Map Segmentation Storage
1.2.840.10008.5.1.4.1.1.66.8	sopClass	S	HeightMapSegmentationStorage	Height Map Segmentation Storage
1.2.840.10008.5.1.4.1.1.67	sopClass	S	RealWorldValueMappingStorage	Real World Value Mapping Storage
1.2.840.10008.5.1.4.1.1.68.1	sopClass	S	SurfaceScanMeshStorage	Surface Scan Mesh Storage
1.2.840.10008.5.1.4.1.1.68.2	sopClass	S	SurfaceScanPointCloudStorage	Surface Scan Point Cloud Storage
1.2.840.10008.5.1.4.1.1.77.1	sopClass	RS	VLImageStorageTrial	VL Image Storage - Trial
1.2.840.10008.5.1.4.1.1.77.1.1	sopClass	S	VLEndoscopicImageStorage	VL Endoscopic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.1.1	sopClass	S	VideoEndoscopicImageStorage	Video Endoscopic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.2	sopClass	S	VLMicroscopicImageStorage	VL Microscopic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.2.1	sopClass	S	VideoMicroscopicImageStorage	Video Microscopic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.3	sopClass	S	VLSlideCoordinatesMicroscopicImageStorage	VL Slide-Coordinates Microscopic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.4	sopClass	S	VLPhotographicImageStorage	VL Photographic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.4.1	sopClass	S	VideoPhotographicImageStorage	Video Photographic Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.1	sopClass	S	OphthalmicPhotography8BitImageStorage	Ophthalmic Photography 8 Bit Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.2	sopClass	S	OphthalmicPhotography16BitImageStorage	Ophthalmic Photography 16 Bit Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.3	sopClass	S	StereometricRelationshipStorage	Stereometric Relationship Storage
1.2.840.10008.5.1.4.1.1.77.1.5.4	sopClass	S	OphthalmicTomographyImageStorage	Ophthalmic Tomography Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.5	sopClass	S	WideFieldOphthalmicPhotographyStereographicProjectionImageStorage	Wide Field Ophthalmic Photography Stereographic Projection Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.6	sopClass	S	WideFieldOphthalmicPhotography3DCoordinatesImageStorage	Wide Field Ophthalmic Photography 3D Coordinates Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.7	sopClass	S	OphthalmicOpticalCoherenceTomographyEnFaceImageStorage	Ophthalmic Optical Coherence Tomography En Face Image Storage
1.2.840.10008.5.1.4.1.1.77.1.5.8	sopClass	S	OphthalmicOpticalCoherenceTomographyBscanVolumeAnalysisStorage	Ophthalmic Optical Coherence Tomography B-scan Volume Analysis Storage
1.2.840.10008.5.1.4.1.1.77.1.6	sopClass	S	VLWholeSlideMicroscopyImageStorage	VL Whole Slide Microscopy Image Storage
1.2.840.10008.5.1.4.1.1.77.1.7	sopClass	S	DermoscopicPhotographyImageStorage	Dermoscopic Photography Image Storage
1.2.840.10008.5.1.4.1.1.77.1.8	sopClass	S	ConfocalMicroscopyImageStorage	Confocal Microscopy Image Storage
1.2.840.10008.5.1.4.1.1.77.1.9	sopClass	S	ConfocalMicroscopyTiledPyramidalImageStorage	Confocal Microscopy Tiled Pyramidal Image Storage
1.2.840.10008.5.1.4.1.1.77.2	sopClass	RS	VLMultiFrameImageStorageTrial	VL Multi-frame Image Storage - Trial
1.2.840.10008.5.1.4.1.1.78.1	sopClass	S	LensometryMeasurementsStorage	Lensometry Measurements Storage
1.2.840.10008.5.1.4.1.1.78.2	sopClass	S	AutorefractionMeasurementsStorage	Autorefraction Measurements Storage
1.2.840.10008.5.1.4.1.1.78.3	sopClass	S	KeratometryMeasurementsStorage	Keratometry Measurements Storage
1.2.840.10008.5.1.4.1.1.78.4	sopClass	S	SubjectiveRefractionMeasurementsStorage	Subjective Refraction Measurements Storage
1.2.840.10008.5.1.4.1.1.78.5	sopClass	S	VisualAcuityMeasurementsStorage	Visual Acuity Measurements Storage
1.2.840.10008.5.1.4.1.1.78.6	sopClass	S	SpectaclePrescriptionReportStorage	Spectacle Prescription Report Storage
1.2.840.10008.5.1.4.1.1.78.7	sopClass	S	OphthalmicAxialMeasurementsStorage	Ophthalmic Axial Measurements Storage
1.2.840.10008.5.1.4.1.1.78.8	sopClass	S	IntraocularLensCalculationsStorage	Intraocular Lens Calculations Storage
1.2.840.10008.5.1.4.1.1.79.1	sopClass	S	MacularGridThicknessAndVolumeReportStorage	Macular Grid Thickness and Volume Report Storage
1.2.840.10008.5.1.4.1.1.80.1	sopClass	S	OphthalmicVisualFieldStaticPerimetryMeasurementsStorage	Ophthalmic Visual Field Static Perimetry Measurements Storage
1.2.840.10008.5.1.4.1.1.81.1	sopClass	S	OphthalmicThicknessMapStorage	Ophthalmic Thickness Map Storage
1.2.840.10008.5.1.4.1.1.82.1	sopClass	S	CornealTopographyMapStorage	Corneal Topography Map Storage
1.2.840.10008.5.1.4.1.1.88.1	sopClass	RS	TextSRStorageTrial	Text SR Storage - Trial
1.2.840.10008.5.1.4.1.1.88.2	sopClass	RS	AudioSRStorageTrial	Audio SR Storage - Trial
1.2.840.10008.5.1.4.1.1.88.3	sopClass	RS	DetailSRStorageTrial	Detail SR Storage - Trial
1.2.840.10008.5.1.4.1.1.88.4	sopClass	RS	ComprehensiveSRStorageTrial	Comprehensive SR Storage - Trial
1.2.840.10008.5.1.4.1.1.88.11	sopClass	S	BasicTextSRStorage	Basic Text SR Storage
1.2.840.10008.5.1.4.1.1.88.22	sopClass	S	EnhancedSRStorage	Enhanced SR Storage
1.2.840.10008.5.1.4.1.1.88.33	sopClass	S	ComprehensiveSRStorage	Comprehensive SR Storage
1.2.840.10008.5.1.4.1.1.88.34	sopClass	S	Comprehensive3DSRStorage	Comprehensive 3D SR Storage
1.2.840.10008.5.1.4.1.1.88.35	sopClass	S	ExtensibleSRStorage	Extensible SR Storage
1.2.840.10008.5.1.4.1.1.88.40	sopClass	S	ProcedureLogStorage	Procedure Log Storage
1.2.840.10008.5.1.4.1.1.88.50	sopClass	S	MammographyCADSRStorage	Mammography CAD SR Storage
1.2.840.10008.5.1.4.1.1.88.59	sopClass	S	KeyObjectSelectionDocumentStorage	Key Object Selection Document Storage
1.2.840.10008.5.1.4.1.1.88.65	sopClass	S	ChestCADSRStorage	Chest CAD SR Storage
1.2.840.10008.5.1.4.1.1.88.67	sopClass	S	XRayRadiationDoseSRStorage	X-Ray Radiation Dose SR Storage
1.2.840.10008.5.1.4.1.1.88.68	sopClass	S	RadiopharmaceuticalRadiationDoseSRStorage	Radiopharmaceutical Radiation Dose SR Storage
1.2.840.10008.5.1.4.1.1.88.69	sopClass	S	ColonCADSRStorage	Colon CAD SR Storage
1.2.840.10008.5.1.4.1.1.88.70	sopClass	S	ImplantationPlanSRStorage	Implantation Plan SR Storage
1.2.840.10008.5.1.4.1.1.88.71	sopClass	S	AcquisitionContextSRStorage	Acquisition Context SR Storage
1.2.840.10008.5.1.4.1.1.88.72	sopClass	S	SimplifiedAdultEchoSRStorage	Simplified Adult Echo SR Storage
1.2.840.10008.5.1.4.1.1.88.73	sopClass	S	PatientRadiationDoseSRStorage	Patient Radiation Dose SR Storage
1.2.840.10008.5.1.4.1.1.88.74	sopClass	S	PlannedImagingAgentAdministrationSRStorage	Planned Imaging Agent Administration SR Storage
1.2.840.10008.5.1.4.1.1.88.75	sopClass	S	PerformedImagingAgentAdministrationSRStorage	Performed Imaging Agent Administration SR Storage
1.2.840.10008.5.1.4.1.1.88.76	sopClass	S	EnhancedXRayRadiationDoseSRStorage	Enhanced X-Ray Radiation Dose SR Storage
1.2.840.10008.5.1.4.1.1.88.77	sopClass	S	WaveformAnnotationSRStorage	Waveform Annotation SR Storage
1.2.840.10008.5.1.4.1.1.90.1	sopClass	S	ContentAssessmentResultsStorage	Content Assessment Results Storage
1.2.840.10008.5.1.4.1.1.91.1	sopClass	S	MicroscopyBulkSimpleAnnotationsStorage	Microscopy Bulk Simple Annotations Storage
1.2.840.10008.5.1.4.1.1.104.1	sopClass	S	EncapsulatedPDFStorage	Encapsulated PDF Storage
1.2.840.10008.5.1.4.1.1.104.2	sopClass	S	EncapsulatedCDAStorage	Encapsulated CDA Storage
1.2.840.10008.5.1.4.1.1.104.3	sopClass	S	EncapsulatedSTLStorage	Encapsulated STL Storage
1.2.840.10008.5.1.4.1.1.104.4	sopClass	S	EncapsulatedOBJStorage	Encapsulated OBJ Storage
1.2.840.10008.5.1.4.1.1.104.5	sopClass	S	EncapsulatedMTLStorage	Encapsulated MTL Storage
1.2.840.10008.5.1.4.1.1.128	sopClass	S	PositronEmissionTomographyImageStorage	Positron Emission Tomography Image Storage
1.2.840.10008.5.1.4.1.1.128.1	sopClass	S	LegacyConvertedEnhancedPETImageStorage	Legacy Converted Enhanced PET Image Storage
1.2.840.10008.5.1.4.1.1.129	sopClass	RS	StandalonePETCurveStorage	Standalone PET Curve Storage
1.2.840.10008.5.1.4.1.1.130	sopClass	S	EnhancedPETImageStorage	Enhanced PET Image Storage
1.2.840.10008.5.1.4.1.1.131	sopClass	S	BasicStructuredDisplayStorage	Basic Structured Display Storage
1.2.840.10008.5.1.4.1.1.200.1	sopClass	S	CTDefinedProcedureProtocolStorage	CT Defined Procedure Protocol Storage
1.2.840.10008.5.1.4.1.1.200.2	sopClass	S	CTPerformedProcedureProtocolStorage	CT Performed Procedure Protocol Storage
1.2.840.10008.5.1.4.1.1.200.3	sopClass	S	ProtocolApprovalStorage	Protocol Approval Storage
1.2.840.10008.5.1.4.1.1.200.4	sopClass	-	ProtocolApprovalInformationModelFind	Protocol Approval Information Model - FIND
1.2.840.10008.5.1.4.1.1.200.5	sopClass	-	ProtocolApprovalInformationModelMove	Protocol Approval Information Model - MOVE
1.2.840.10008.5.1.4.1.1.200.6	sopClass	-	ProtocolApprovalInformationModelGet	Protocol Approval Information Model - GET
1.2.840.10008.5.1.4.1.1.200.7	sopClass	S	XADefinedProcedureProtocolStorage	XA Defined Procedure Protocol Storage
1.2.840.10008.5.1.4.1.1.200.8	sopClass	S	XAPerformedProcedureProtocolStorage	XA Performed Procedure Protocol Storage
1.2.840.10008.5.1.4.1.1.201.1	sopClass	S	InventoryStorage	Inventory Storage
1.2.840.10008.5.1.4.1.1.201.1.1	wellKnownInstance	-	StorageManagementInstance	Storage Management SOP Instance
1.2.840.10008.5.1.4.1.1.201.2	sopClass	-	InventoryFind	Inventory - FIND
1.2.840.10008.5.1.4.1.1.201.3	sopClass	-	InventoryMove	Inventory - MOVE
1.2.840.10008.5.1.4.1.1.201.4	sopClass	-	InventoryGet	Inventory - GET
1.2.840.10008.5.1.4.1.1.201.5	sopClass	-	InventoryCreation	Inventory Creation
1.2.840.10008.5.1.4.1.1.201.6	sopClass	-	RepositoryQuery	Repository Query
1.2.840.10008.5.1.4.1.1.481.1	sopClass	S	RTImageStorage	RT Image Storage
1.2.840.10008.5.1.4.1.1.481.2	sopClass	S	RTDoseStorage	RT Dose Storage
1.2.840.10008.5.1.4.1.1.481.3	sopClass	S	RTStructureSetStorage	RT Structure Set Storage
1.2.840.10008.5.1.4.1.1.481.4	sopClass	S	RTBeamsTreatmentRecordStorage	RT Beams Treatment Record Storage
1.2.840.10008.5.1.4.1.1.481.5	sopClass	S	RTPlanStorage	RT Plan Storage
1.2.840.10008.5.1.4.1.1.481.6	sopClass	S	RTBrachyTreatmentRecordStorage	RT Brachy Treatment Record Storage
1.2.840.10008.5.1.4.1.1.481.7	sopClass	S	RTTreatmentSummaryRecordStorage	RT Treatment Summary Record Storage
1.2.840.10008.5.1.4.1.1.481.8	sopClass	S	RTIonPlanStorage	RT Ion Plan Storage
1.2.840.10008.5.1.4.1.1.481.9	sopClass	S	RTIonBeamsTreatmentRecordStorage	RT Ion Beams Treatment Record Storage
1.2.840.10008.5.1.4.1.1.481.10	sopClass	S	RTPhysicianIntentStorage	RT Physician Intent Storage
1.2.840.10008.5.1.4.1.1.481.11	sopClass	S	RTSegmentAnnotationStorage	RT Segment Annotation Storage
1.2.840.10008.5.1.4.1.1.481.12	sopClass	S	RTRadiationSetStorage	RT Radiation Set Storage
1.2.840.10008.5.1.4.1.1.481.13	sopClass	S	CArmPhotonElectronRadiationStorage	C-Arm Photon-Electron Radiation Storage
1.2.840.10008.5.1.4.1.1.481.14	sopClass	S	TomotherapeuticRadiationStorage	Tomotherapeutic Radiation Storage
1.2.840.10008.5.1.4.1.1.481.15	sopClass	S	RoboticArmRadiationStorage	Robotic-Arm Radiation Storage
1.2.840.10008.5.1.4.1.1.481.16	sopClass	S	RTRadiationRecordSetStorage	RT Radiation Record Set Storage
1.2.840.10008.5.1.4.1.1.481.17	sopClass	S	RTRadiationSalvageRecordStorage	RT Radiation Salvage Record Storage
1.2.840.10008.5.1.4.1.1.481.18	sopClass	S	TomotherapeuticRadiationRecordStorage	Tomotherapeutic Radiation Record Storage
1.2.840.10008.5.1.4.1.1.481.19	sopClass	S	CArmPhotonElectronRadiationRecordStorage	C-Arm Photon-Electron Radiation Record Storage
1.2.840.10008.5.1.4.1.1.481.20	sopClass	S	RoboticRadiationRecordStorage	Robotic Radiation Record Storage
1.2.840.10008.5.1.4.1.1.481.21	sopClass	S	RTRadiationSetDeliveryInstructionStorage	RT Radiation Set Delivery Instruction Storage
1.2.840.10008.5.1.4.1.1.481.22	sopClass	S	RTTreatmentPreparationStorage	RT Treatment Preparation Storage
1.2.840.10008.5.1.4.1.1.481.23	sopClass	S	EnhancedRTImageStorage	Enhanced RT Image Storage
1.2.840.10008.5.1.4.1.1.481.24	sopClass	S	EnhancedContinuousRTImageStorage	Enhanced Continuous RT Image Storage
1.2.840.10008.5.1.4.1.1.481.25	sopClass	S	RTPatientPositionAcquisitionInstructionStorage	RT Patient Position Acquisition Instruction Storage
1.2.840.10008.5.1.4.1.1.501.1	sopClass	S	DICOSCTImageStorage	DICOS CT Image Storage
1.2.840.10008.5.1.4.1.1.501.2.1	sopClass	S	DICOSDigitalXRayImageStorageForPresentation	DICOS Digital X-Ray Image Storage - For Presentation
1.2.840.10008.5.1.4.1.1.501.2.2	sopClass	S	DICOSDigitalXRayImageStorageForProcessing	DICOS Digital X-Ray Image Storage - For Processing
1.2.840.10008.5.1.4.1.1.501.3	sopClass	S	DICOSThreatDetectionReportStorage	DICOS Threat Detection Report Storage
1.2.840.10008.5.1.4.1.1.501.4	sopClass	S	DICOS2DAITStorage	DICOS 2D AIT Storage
1.2.840.10008.5.1.4.1.1.501.5	sopClass	S	DICOS3DAITStorage	DICOS 3D AIT Storage
1.2.840.10008.5.1.4.1.1.501.6	sopClass	S	DICOSQuadrupoleResonanceStorage	DICOS Quadrupole Resonance (QR) Storage
1.2.840.10008.5.1.4.1.1.601.1	sopClass	S	EddyCurrentImageStorage	Eddy Current Image Storage
1.2.840.10008.5.1.4.1.1.601.2	sopClass	S	EddyCurrentMultiFrameImageStorage	Eddy Current Multi-frame Image Storage
1.2.840.10008.5.1.4.1.2.1.1	sopClass	-	PatientRootQueryRetrieveInformationModelFind	Patient Root Query/Retrieve Information Model - FIND
1.2.840.10008.5.1.4.1.2.1.2	sopClass	-	PatientRootQueryRetrieveInformationModelMove	Patient Root Query/Retrieve Information Model - MOVE
1.2.840.10008.5.1.4.1.2.1.3	sopClass	-	PatientRootQueryRetrieveInformationModelGet	Patient Root Query/Retrieve Information Model - GET
1.2.840.10008.5.1.4.1.2.2.1	sopClass	-	StudyRootQueryRetrieveInformationModelFind	Study Root Query/Retrieve Information Model - FIND
1.2.840.10008.5.1.4.1.2.2.2	sopClass	-	StudyRootQueryRetrieveInformationModelMove	Study Root Query/Retrieve Information Model - MOVE
1.2.840.10008.5.1.4.1.2.2.3	sopClass	-	StudyRootQueryRetrieveInformationModelGet	Study Root Query/Retrieve Information Model - GET
1.2.840.10008.5.1.4.1.2.3.1	sopClass	R	PatientStudyOnlyQueryRetrieveInformationModelFind	Patient/Study Only Query/Retrieve Information Model - FIND
1.2.840.10008.5.1.4.1.2.3.2	sopClass	R	PatientStudyOnlyQueryRetrieveInformationModelMove	Patient/Study Only Query/Retrieve Information Model - MOVE
1.2.840.10008.5.1.4.1.2.3.3	sopClass	R	PatientStudyOnlyQueryRetrieveInformationModelGet	Patient/Study Only Query/Retrieve Information Model - GET
1.2.840.10008.5.1.4.1.2.4.2	sopClass	-	CompositeInstanceRootRetrieveMove	Composite Instance Root Retrieve - MOVE
1.2.840.10008.5.1.4.1.2.4.3	sopClass	-	CompositeInstanceRootRetrieveGet	Composite Instance Root Retrieve - GET
1.2.840.10008.5.1.4.1.2.5.3	sopClass	-	CompositeInstanceRetrieveWithoutBulkDataGet	Composite Instance Retrieve Without Bulk Data - GET
1.2.840.10008.5.1.4.20.1	sopClass	-	DefinedProcedureProtocolInformationModelFind	Defined Procedure Protocol Information Model - FIND
1.2.840.10008.5.1.4.20.2	sopClass	-	DefinedProcedureProtocolInformationModelMove	Defined Procedure Protocol Information Model - MOVE
1.2.840.10008.5.1.4.20.3	sopClass	-	DefinedProcedureProtocolInformationModelGet	Defined Procedure Protocol Information Model - GET
1.2.840.10008.5.1.4.31	sopClass	-	ModalityWorklistInformationModelFind	Modality Worklist Information Model - FIND
1.2.840.10008.5.1.4.32	metaSOPClass	R	GeneralPurposeWorklistManagementMeta	General Purpose Worklist Management Meta SOP Class
1.2.840.10008.5.1.4.32.1	sopClass	R	GeneralPurposeWorklistInformationModelFind	General Purpose Worklist Information Model - FIND
1.2.840.10008.5.1.4.32.2	sopClass	R	GeneralPurposeScheduledProcedureStep	General Purpose Scheduled Procedure Step SOP Class
1.2.840.10008.5.1.4.32.3	sopClass	R	GeneralPurposePerformedProcedureStep	General Purpose Performed Procedure Step SOP Class
1.2.840.10008.5.1.4.33	sopClass	-	InstanceAvailabilityNotification	Instance Availability Notification SOP Class
1.2.840.10008.5.1.4.34.1	sopClass	RS	RTBeamsDeliveryInstructionStorageTrial	RT Beams Delivery Instruction Storage - Trial
1.2.840.10008.5.1.4.34.2	sopClass	R	RTConventionalMachineVerificationTrial	RT Conventional Machine Verification - Trial
1.2.840.10008.5.1.4.34.3	sopClass	R	RTIonMachineVerificationTrial	RT Ion Machine Verification - Trial
1.2.840.10008.5.1.4.34.4	serviceClass	R	UnifiedWorklistAndProcedureStepTrial	Unified Worklist and Procedure Step Service Class - Trial
1.2.840.10008.5.1.4.34.4.1	sopClass	R	UnifiedProcedureStepPushTrial	Unified Procedure Step - Push SOP Class - Trial
1.2.840.10008.5.1.4.34.4.2	sopClass	R	UnifiedProcedureStepWatchTrial	Unified Procedure Step - Watch SOP Class - Trial
1.2.840.10008.5.1.4.34.4.3	sopClass	R	UnifiedProcedureStepPullTrial	Unified Procedure Step - Pull SOP Class - Trial
1.2.840.10008.5.1.4.34.4.4	sopClass	R	UnifiedProcedureStepEventTrial	Unified Procedure Step - Event SOP Class - Trial
1.2.840.10008.5.1.4.34.5	wellKnownInstance	-	UPSGlobalSubscriptionInstance	UPS Global Subscription SOP Instance
1.2.840.10008.5.1.4.34.5.1	wellKnownInstance	-	UPSFilteredGlobalSubscriptionInstance	UPS Filtered Global Subscription SOP Instance
1.2.840.10008.5.1.4.34.6	serviceClass	-	UnifiedWorklistAndProcedureStep	Unified Worklist and Procedure Step Service Class
1.2.840.10008.5.1.4.34.6.1	sopClass	-	UnifiedProcedureStepPush	Unified Procedure Step - Push SOP Class
1.2.840.10008.5.1.4.34.6.2	sopClass	-	UnifiedProcedureStepWatch	Unified Procedure Step - Watch SOP Class
1.2.840.10008.5.1.4.34.6.3	sopClass	-	UnifiedProcedureStepPull	Unified Procedure Step - Pull SOP Class
1.2.840.10008.5.1.4.34.6.4	sopClass	-	UnifiedProcedureStepEvent	Unified Procedure Step - Event SOP Class
1.2.840.10008.5.1.4.34.6.5	sopClass	-	UnifiedProcedureStepQuery	Unified Procedure Step - Query SOP Class
1.2.840.10008.5.1.4.34.7	sopClass	S	RTBeamsDeliveryInstructionStorage	RT Beams Delivery Instruction Storage
1.2.840.10008.5.1.4.34.8	sopClass	-	RTConventionalMachineVerification	RT Conventional Machine Verification
1.2.840.10008.5.1.4.34.9	sopClass	-	RTIonMachineVerification	RT Ion Machine Verification
1.2.840.10008.5.1.4.34.10	sopClass	S	RTBrachyApplicationSetupDeliveryInstructionStorage	RT Brachy Application Setup Delivery Instruction Storage
1.2.840.10008.5.1.4.37.1	sopClass	-	GeneralRelevantPatientInformationQuery	General Relevant Patient Information Query
1.2.840.10008.5.1.4.37.2	sopClass	-	BreastImagingRelevantPatientInformationQuery	Breast Imaging Relevant Patient Information Query
1.2.840.10008.5.1.4.37.3	sopClass	-	CardiacRelevantPatientInformationQuery	Cardiac Relevant Patient Information Query
1.2.840.10008.5.1.4.38.1	sopClass	S	HangingProtocolStorage	Hanging Protocol Storage
1.2.840.10008.5.1.4.38.2	sopClass	-	HangingProtocolInformationModelFind	Hanging Protocol Information Model - FIND
1.2.840.10008.5.1.4.38.3	sopClass	-	HangingProtocolInformationModelMove	Hanging Protocol Information Model - MOVE
1.2.840.10008.5.1.4.38.4	sopClass	-	HangingProtocolInformationModelGet	Hanging Protocol Information Model - GET
1.2.840.10008.5.1.4.39.1	sopClass	S	ColorPaletteStorage	Color Palette Storage
1.2.840.10008.5.1.4.39.2	sopClass	-	ColorPaletteQueryRetrieveInformationModelFind	Color Palette Query/Retrieve Information Model - FIND
1.2.840.10008.5.1.4.39.3	sopClass	-	ColorPaletteQueryRetrieveInformationModelMove	Color Palette Query/Retrieve Information Model - MOVE
1.2.840.10008.5.1.4.39.4	sopClass	-	ColorPaletteQueryRetrieveInformationModelGet	Color Palette Query/Retrieve Information Model - GET
1.2.840.10008.5.1.4.41	sopClass	-	ProductCharacteristicsQuery	Product Characteristics Query SOP Class
1.2.840.10008.5.1.4.42	sopClass	-	SubstanceApprovalQuery	Substance Approval Query SOP Class
1.2.840.10008.5.1.4.43.1	sopClass	S	GenericImplantTemplateStorage	Generic Implant Template Storage
1.2.840.10008.5.1.4.43.2	sopClass	-	GenericImplantTemplateInformationModelFind	Generic Implant Template Information Model - FIND
1.2.840.10008.5.1.4.43.3	sopClass	-	GenericImplantTemplateInformationModelMove	Generic Implant Template Information Model - MOVE
1.2.840.10008.5.1.4.43.4	sopClass	-	GenericImplantTemplateInformationModelGet	Generic Implant Template Information Model - GET
1.2.840.10008.5.1.4.44.1	sopClass	S	ImplantAssemblyTemplateStorage	Implant Assembly Template Storage
1.2.840.10008.5.1.4.44.2	sopClass	-	ImplantAssemblyTemplateInformationModelFind	Implant Assembly Template Information Model - FIND
1.2.840.10008.5.1.4.44.3	sopClass	-	ImplantAssemblyTemplateInformationModelMove	Implant Assembly Template Information Model - MOVE
1.2.840.10008.5.1.4.44.4	sopClass	-	ImplantAssemblyTemplateInformationModelGet	Implant Assembly Template Information Model - GET
1.2.840.10008.5.1.4.45.1	sopClass	S	ImplantTemplateGroupStorage	Implant Template Group Storage
1.2.840.10008.5.1.4.45.2	sopClass	-	ImplantTemplateGroupInformationModelFind	Implant Template Group Information Model - FIND
1.2.840.10008.5.1.4.45.3	sopClass	-	ImplantTemplateGroupInformationModelMove	Implant Template Group Information Model - MOVE
1.2.840.10008.5.1.4.45.4	sopClass	-	ImplantTemplateGroupInformationModelGet	Implant Template Group Information Model - GET
1.2.840.10008.7.1.1	applicationHostingModel	-	NativeDICOMModel	Native DICOM Model
1.2.840.10008.7.1.2	applicationHostingModel	-	AbstractMultiDimensionalImageModel	Abstract Multi-Dimensional Image Model
1.2.840.10008.8.1.1	mappingResource	-	DICOMContentMappingResource	DICOM Content Mapping Resource
1.2.840.10008.10.1	sopClass	-	VideoEndoscopicImageRealTimeCommunication	Video Endoscopic Image Real-Time Communication
1.2.840.10008.10.2	sopClass	-	VideoPhotographicImageRealTimeCommunication	Video Photographic Image Real-Time Communication
1.2.840.10008.10.3	sopClass	-	AudioWaveformRealTimeCommunication	Audio Waveform Real-Time Communication
1.2.840.10008.10.4	sopClass	-	RenditionSelectionDocumentRealTimeCommunication	Rendition Selection Document Real-Time Communication
1.2.840.10008.15.0.3.1	ldapOID	-	dicomDeviceName	dicomDeviceName
1.2.840.10008.15.0.3.2	ldapOID	-	dicomDescription	dicomDescription
1.2.840.10008.15.0.3.3	ldapOID	-	dicomManufacturer	dicomManufacturer
1.2.840.10008.15.0.3.4	ldapOID	-	dicomManufacturerModelName	dicomManufacturerModelName
1.2.840.10008.15.0.3.5	ldapOID	-	dicomSoftwareVersion	dicomSoftwareVersion
1.2.840.10008.15.0.3.6	ldapOID	-	dicomVendorData	dicomVendorData
1.2.840.10008.15.0.3.7	ldapOID	-	dicomAETitle	dicomAETitle
1.2.840.10008.15.0.3.8	ldapOID	-	dicomNetworkConnectionReference	dicomNetworkConnectionReference
1.2.840.10008.15.0.3.9	ldapOID	-	dicomApplicationCluster	dicomApplicationCluster
1.2.840.10008.15.0.3.10	ldapOID	-	dicomAssociationInitiator	dicomAssociationInitiator
1.2.840.10008.15.0.3.11	ldapOID	-	dicomAssociationAcceptor	dicomAssociationAcceptor
1.2.840.10008.15.0.3.12	ldapOID	-	dicomHostname	dicomHostname
1.2.840.10008.15.0.3.13	ldapOID	-	dicomPort	dicomPort
1.2.840.10008.15.0.3.14	ldapOID	-	dicomSOPClass	dicomSOPClass
1.2.840.10008.15.0.3.15	ldapOID	-	dicomTransferRole	dicomTransferRole
1.2.840.10008.15.0.3.16	ldapOID	-	dicomTransferSyntax	dicomTransferSyntax
1.2.840.10008.15.0.3.17	ldapOID	-	dicomPrimaryDeviceType	dicomPrimaryDeviceType
1.2.840.10008.15.0.3.18	ldapOID	-	dicomRelatedDeviceReference	dicomRelatedDeviceReference
1.2.840.10008.15.0.3.19	ldapOID	-	dicomPreferredCalledAETitle	dicomPreferredCalledAETitle
1.2.840.10008.15.0.3.20	ldapOID	-	dicomTLSCyphersuite	dicomTLSCyphersuite
1.2.840.10008.15.0.3.21	ldapOID	-	dicomAuthorizedNodeCertificateReference	dicomAuthorizedNodeCertificateReference
1.2.840.10008.15.0.3.22	ldapOID	-	dicomThisNodeCertificateReference	dicomThisNodeCertificateReference
1.2.840.10008.15.0.3.23	ldapOID	-	dicomInstalled	dicomInstalled
1.2.840.10008.15.0.3.24	ldapOID	-	dicomStationName	dicomStationName
1.2.840.10008.15.0.3.25	ldapOID	-	dicomDeviceSerialNumber	dicomDeviceSerialNumber
1.2.840.10008.15.0.3.26	ldapOID	-	dicomInstitutionName	dicomInstitutionName
1.2.840.10008.15.0.3.27	ldapOID	-	dicomInstitutionAddress	dicomInstitutionAddress
1.2.840.10008.15.0.3.28	ldapOID	-	dicomInstitutionDepartmentName	dicomInstitutionDepartmentName
1.2.840.10008.15.0.3.29	ldapOID	-	dicomIssuerOfPatientID	dicomIssuerOfPatientID
1.2.840.10008.15.0.3.30	ldapOID	-	dicomPreferredCallingAETitle	dicomPreferredCallingAETitle
1.2.840.10008.15.0.3.31	ldapOID	-	dicomSupportedCharacterSet	dicomSupportedCharacterSet
1.2.840.10008.15.0.4.1	ldapOID	-	dicomConfigurationRoot	dicomConfigurationRoot
1.2.840.10008.15.0.4.2	ldapOID	-	dicomDevicesRoot	dicomDevicesRoot
1.2.840.10008.15.0.4.3	ldapOID	-	dicomUniqueAETitlesRegistryRoot	dicomUniqueAETitlesRegistryRoot
1.2.840.10008.15.0.4.4	ldapOID	-	dicomDevice	dicomDevice
1.2.840.10008.15.0.4.5	ldapOID	-	dicomNetworkAE	dicomNetworkAE
1.2.840.10008.15.0.4.6	ldapOID	-	dicomNetworkConnection	dicomNetworkConnection
1.2.840.10008.15.0.4.7	ldapOID	-	dicomUniqueAETitle	dicomUniqueAETitle
1.2.840.10008.15.0.4.8	ldapOID	-	dicomTransferCapability	dicomTransferCapability
1.2.840.10008.15.1.1	synchronizationFrame	-	UTC	Universal Coordinated Time
"""#
}
