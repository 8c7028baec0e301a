// GENERATED FILE - DO NOT EDIT. Made by scripts/gen-dictionary.py from pydicom 3.0.2's _dicom_dict.DicomDictionary and RepeatersDictionary (PS3.6 6, 7, 8).
// One tab-separated line per entry, parsed lazily at first use.
// Columns: tag (hex, 'x' = any digit), VRs ('/'-separated), VM, R(etired) or -, keyword, name.

extension DataDictionary {
    static let standardTable: StaticString = #"""
00000000	UL	1	-	CommandGroupLength	Command Group Length
00000001	UL	1	R	CommandLengthToEnd	Command Length to End
00000002	UI	1	-	AffectedSOPClassUID	Affected SOP Class UID
00000003	UI	1	-	RequestedSOPClassUID	Requested SOP Class UID
00000010	SH	1	R	CommandRecognitionCode	Command Recognition Code
00000100	US	1	-	CommandField	Command Field
00000110	US	1	-	MessageID	Message ID
00000120	US	1	-	MessageIDBeingRespondedTo	Message ID Being Responded To
00000200	AE	1	R	Initiator	Initiator
00000300	AE	1	R	Receiver	Receiver
00000400	AE	1	R	FindLocation	Find Location
00000600	AE	1	-	MoveDestination	Move Destination
00000700	US	1	-	Priority	Priority
00000800	US	1	-	CommandDataSetType	Command Data Set Type
00000850	US	1	R	NumberOfMatches	Number of Matches
00000860	US	1	R	ResponseSequenceNumber	Response Sequence Number
00000900	US	1	-	Status	Status
00000901	AT	1-n	-	OffendingElement	Offending Element
00000902	LO	1	-	ErrorComment	Error Comment
00000903	US	1	-	ErrorID	Error ID
00001000	UI	1	-	AffectedSOPInstanceUID	Affected SOP Instance UID
00001001	UI	1	-	RequestedSOPInstanceUID	Requested SOP Instance UID
00001002	US	1	-	EventTypeID	Event Type ID
00001005	AT	1-n	-	AttributeIdentifierList	Attribute Identifier List
00001008	US	1	-	ActionTypeID	Action Type ID
00001020	US	1	-	NumberOfRemainingSuboperations	Number of Remaining Sub-operations
00001021	US	1	-	NumberOfCompletedSuboperations	Number of Completed Sub-operations
00001022	US	1	-	NumberOfFailedSuboperations	Number of Failed Sub-operations
00001023	US	1	-	NumberOfWarningSuboperations	Number of Warning Sub-operations
00001030	AE	1	-	MoveOriginatorApplicationEntityTitle	Move Originator Application Entity Title
00001031	US	1	-	MoveOriginatorMessageID	Move Originator Message ID
00004000	LT	1	R	DialogReceiver	Dialog Receiver
00004010	LT	1	R	TerminalType	Terminal Type
00005010	SH	1	R	MessageSetID	Message Set ID
00005020	SH	1	R	EndMessageID	End Message ID
00005110	LT	1	R	DisplayFormat	Display Format
00005120	LT	1	R	PagePositionID	Page Position ID
00005130	CS	1	R	TextFormatID	Text Format ID
00005140	CS	1	R	NormalReverse	Normal/Reverse
00005150	CS	1	R	AddGrayScale	Add Gray Scale
00005160	CS	1	R	Borders	Borders
00005170	IS	1	R	Copies	Copies
00005180	CS	1	R	CommandMagnificationType	Command Magnification Type
00005190	CS	1	R	Erase	Erase
000051A0	CS	1	R	Print	Print
000051B0	US	1-n	R	Overlays	Overlays
00020000	UL	1	-	FileMetaInformationGroupLength	File Meta Information Group Length
00020001	OB	1	-	FileMetaInformationVersion	File Meta Information Version
00020002	UI	1	-	MediaStorageSOPClassUID	Media Storage SOP Class UID
00020003	UI	1	-	MediaStorageSOPInstanceUID	Media Storage SOP Instance UID
00020010	UI	1	-	TransferSyntaxUID	Transfer Syntax UID
00020012	UI	1	-	ImplementationClassUID	Implementation Class UID
00020013	SH	1	-	ImplementationVersionName	Implementation Version Name
00020016	AE	1	-	SourceApplicationEntityTitle	Source Application Entity Title
00020017	AE	1	-	SendingApplicationEntityTitle	Sending Application Entity Title
00020018	AE	1	-	ReceivingApplicationEntityTitle	Receiving Application Entity Title
00020026	UR	1	-	SourcePresentationAddress	Source Presentation Address
00020027	UR	1	-	SendingPresentationAddress	Sending Presentation Address
00020028	UR	1	-	ReceivingPresentationAddress	Receiving Presentation Address
00020031	OB	1	-	RTVMetaInformationVersion	RTV Meta Information Version
00020032	UI	1	-	RTVCommunicationSOPClassUID	RTV Communication SOP Class UID
00020033	UI	1	-	RTVCommunicationSOPInstanceUID	RTV Communication SOP Instance UID
00020035	OB	1	-	RTVSourceIdentifier	RTV Source Identifier
00020036	OB	1	-	RTVFlowIdentifier	RTV Flow Identifier
00020037	UL	1	-	RTVFlowRTPSamplingRate	RTV Flow RTP Sampling Rate
00020038	FD	1	-	RTVFlowActualFrameDuration	RTV Flow Actual Frame Duration
00020100	UI	1	-	PrivateInformationCreatorUID	Private Information Creator UID
00020102	OB	1	-	PrivateInformation	Private Information
00041130	CS	1	-	FileSetID	File-set ID
00041141	CS	1-8	-	FileSetDescriptorFileID	File-set Descriptor File ID
00041142	CS	1	-	SpecificCharacterSetOfFileSetDescriptorFile	Specific Character Set of File-set Descriptor File
00041200	UL	1	-	OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity	Offset of the First Directory Record of the Root Directory Entity
00041202	UL	1	-	OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity	Offset of the Last Directory Record of the Root Directory Entity
00041212	US	1	-	FileSetConsistencyFlag	File-set Consistency Flag
00041220	SQ	1	-	DirectoryRecordSequence	Directory Record Sequence
00041400	UL	1	-	OffsetOfTheNextDirectoryRecord	Offset of the Next Directory Record
00041410	US	1	-	RecordInUseFlag	Record In-use Flag
00041420	UL	1	-	OffsetOfReferencedLowerLevelDirectoryEntity	Offset of Referenced Lower-Level Directory Entity
00041430	CS	1	-	DirectoryRecordType	Directory Record Type
00041432	UI	1	-	PrivateRecordUID	Private Record UID
00041500	CS	1-8	-	ReferencedFileID	Referenced File ID
00041504	UL	1	R	MRDRDirectoryRecordOffset	MRDR Directory Record Offset
00041510	UI	1	-	ReferencedSOPClassUIDInFile	Referenced SOP Class UID in File
00041511	UI	1	-	ReferencedSOPInstanceUIDInFile	Referenced SOP Instance UID in File
00041512	UI	1	-	ReferencedTransferSyntaxUIDInFile	Referenced Transfer Syntax UID in File
0004151A	UI	1-n	-	ReferencedRelatedGeneralSOPClassUIDInFile	Referenced Related General SOP Class UID in File
00041600	UL	1	R	NumberOfReferences	Number of References
00080001	UL	1	R	LengthToEnd	Length to End
00080005	CS	1-n	-	SpecificCharacterSet	Specific Character Set
00080006	SQ	1	-	LanguageCodeSequence	Language Code Sequence
00080008	CS	2-n	-	ImageType	Image Type
00080010	SH	1	R	RecognitionCode	Recognition Code
00080012	DA	1	-	InstanceCreationDate	Instance Creation Date
00080013	TM	1	-	InstanceCreationTime	Instance Creation Time
00080014	UI	1	-	InstanceCreatorUID	Instance Creator UID
00080015	DT	1	-	InstanceCoercionDateTime	Instance Coercion DateTime
00080016	UI	1	-	SOPClassUID	SOP Class UID
00080017	UI	1	-	AcquisitionUID	Acquisition UID
00080018	UI	1	-	SOPInstanceUID	SOP Instance UID
00080019	UI	1	-	PyramidUID	Pyramid UID
0008001A	UI	1-n	-	RelatedGeneralSOPClassUID	Related General SOP Class UID
0008001B	UI	1	-	OriginalSpecializedSOPClassUID	Original Specialized SOP Class UID
0008001C	CS	1	-	SyntheticData	Synthetic Data
00080020	DA	1	-	StudyDate	Study Date
00080021	DA	1	-	SeriesDate	Series Date
00080022	DA	1	-	AcquisitionDate	Acquisition Date
00080023	DA	1	-	ContentDate	Content Date
00080024	DA	1	R	OverlayDate	Overlay Date
00080025	DA	1	R	CurveDate	Curve Date
0008002A	DT	1	-	AcquisitionDateTime	Acquisition DateTime
00080030	TM	1	-	StudyTime	Study Time
00080031	TM	1	-	SeriesTime	Series Time
00080032	TM	1	-	AcquisitionTime	Acquisition Time
00080033	TM	1	-	ContentTime	Content Time
00080034	TM	1	R	OverlayTime	Overlay Time
00080035	TM	1	R	CurveTime	Curve Time
00080040	US	1	R	DataSetType	Data Set Type
00080041	LO	1	R	DataSetSubtype	Data Set Subtype
00080042	CS	1	R	NuclearMedicineSeriesType	Nuclear Medicine Series Type
00080050	SH	1	-	AccessionNumber	Accession Number
00080051	SQ	1	-	IssuerOfAccessionNumberSequence	Issuer of Accession Number Sequence
00080052	CS	1	-	QueryRetrieveLevel	Query/Retrieve Level
00080053	CS	1	-	QueryRetrieveView	Query/Retrieve View
00080054	AE	1-n	-	RetrieveAETitle	Retrieve AE Title
00080055	AE	1	-	StationAETitle	Station AE Title
00080056	CS	1	-	InstanceAvailability	Instance Availability
00080058	UI	1-n	-	FailedSOPInstanceUIDList	Failed SOP Instance UID List
00080060	CS	1	-	Modality	Modality
00080061	CS	1-n	-	ModalitiesInStudy	Modalities in Study
00080062	UI	1-n	-	SOPClassesInStudy	SOP Classes in Study
00080063	SQ	1	-	AnatomicRegionsInStudyCodeSequence	Anatomic Regions in Study Code Sequence
00080064	CS	1	-	ConversionType	Conversion Type
00080068	CS	1	-	PresentationIntentType	Presentation Intent Type
00080070	LO	1	-	Manufacturer	Manufacturer
00080080	LO	1	-	InstitutionName	Institution Name
00080081	ST	1	-	InstitutionAddress	Institution Address
00080082	SQ	1	-	InstitutionCodeSequence	Institution Code Sequence
00080090	PN	1	-	ReferringPhysicianName	Referring Physician's Name
00080092	ST	1	-	ReferringPhysicianAddress	Referring Physician's Address
00080094	SH	1-n	-	ReferringPhysicianTelephoneNumbers	Referring Physician's Telephone Numbers
00080096	SQ	1	-	ReferringPhysicianIdentificationSequence	Referring Physician Identification Sequence
0008009C	PN	1-n	-	ConsultingPhysicianName	Consulting Physician's Name
0008009D	SQ	1	-	ConsultingPhysicianIdentificationSequence	Consulting Physician Identification Sequence
00080100	SH	1	-	CodeValue	Code Value
00080101	LO	1	-	ExtendedCodeValue	Extended Code Value
00080102	SH	1	-	CodingSchemeDesignator	Coding Scheme Designator
00080103	SH	1	-	CodingSchemeVersion	Coding Scheme Version
00080104	LO	1	-	CodeMeaning	Code Meaning
00080105	CS	1	-	MappingResource	Mapping Resource
00080106	DT	1	-	ContextGroupVersion	Context Group Version
00080107	DT	1	-	ContextGroupLocalVersion	Context Group Local Version
00080108	LT	1	-	ExtendedCodeMeaning	Extended Code Meaning
00080109	SQ	1	-	CodingSchemeResourcesSequence	Coding Scheme Resources Sequence
0008010A	CS	1	-	CodingSchemeURLType	Coding Scheme URL Type
0008010B	CS	1	-	ContextGroupExtensionFlag	Context Group Extension Flag
0008010C	UI	1	-	CodingSchemeUID	Coding Scheme UID
0008010D	UI	1	-	ContextGroupExtensionCreatorUID	Context Group Extension Creator UID
0008010E	UR	1	-	CodingSchemeURL	Coding Scheme URL
0008010F	CS	1	-	ContextIdentifier	Context Identifier
00080110	SQ	1	-	CodingSchemeIdentificationSequence	Coding Scheme Identification Sequence
00080112	LO	1	-	CodingSchemeRegistry	Coding Scheme Registry
00080114	ST	1	-	CodingSchemeExternalID	Coding Scheme External ID
00080115	ST	1	-	CodingSchemeName	Coding Scheme Name
00080116	ST	1	-	CodingSchemeResponsibleOrganization	Coding Scheme Responsible Organization
00080117	UI	1	-	ContextUID	Context UID
00080118	UI	1	-	MappingResourceUID	Mapping Resource UID
00080119	UC	1	-	LongCodeValue	Long Code Value
00080120	UR	1	-	URNCodeValue	URN Code Value
00080121	SQ	1	-	EquivalentCodeSequence	Equivalent Code Sequence
00080122	LO	1	-	MappingResourceName	Mapping Resource Name
00080123	SQ	1	-	ContextGroupIdentificationSequence	Context Group Identification Sequence
00080124	SQ	1	-	MappingResourceIdentificationSequence	Mapping Resource Identification Sequence
00080201	SH	1	-	TimezoneOffsetFromUTC	Timezone Offset From UTC
00080202	OB	1	R		Retired-blank
00080220	SQ	1	-	ResponsibleGroupCodeSequence	Responsible Group Code Sequence
00080221	CS	1	-	EquipmentModality	Equipment Modality
00080222	LO	1	-	ManufacturerRelatedModelGroup	Manufacturer's Related Model Group
00080300	SQ	1	-	PrivateDataElementCharacteristicsSequence	Private Data Element Characteristics Sequence
00080301	US	1	-	PrivateGroupReference	Private Group Reference
00080302	LO	1	-	PrivateCreatorReference	Private Creator Reference
00080303	CS	1	-	BlockIdentifyingInformationStatus	Block Identifying Information Status
00080304	US	1-n	-	NonidentifyingPrivateElements	Nonidentifying Private Elements
00080305	SQ	1	-	DeidentificationActionSequence	Deidentification Action Sequence
00080306	US	1-n	-	IdentifyingPrivateElements	Identifying Private Elements
00080307	CS	1	-	DeidentificationAction	Deidentification Action
00080308	US	1	-	PrivateDataElement	Private Data Element
00080309	UL	1-3	-	PrivateDataElementValueMultiplicity	Private Data Element Value Multiplicity
0008030A	CS	1	-	PrivateDataElementValueRepresentation	Private Data Element Value Representation
0008030B	UL	1-2	-	PrivateDataElementNumberOfItems	Private Data Element Number of Items
0008030C	UC	1	-	PrivateDataElementName	Private Data Element Name
0008030D	UC	1	-	PrivateDataElementKeyword	Private Data Element Keyword
0008030E	UT	1	-	PrivateDataElementDescription	Private Data Element Description
0008030F	UT	1	-	PrivateDataElementEncoding	Private Data Element Encoding
00080310	SQ	1	-	PrivateDataElementDefinitionSequence	Private Data Element Definition Sequence
00080400	SQ	1	-	ScopeOfInventorySequence	Scope of Inventory Sequence
00080401	LT	1	-	InventoryPurpose	Inventory Purpose
00080402	LT	1	-	InventoryInstanceDescription	Inventory Instance Description
00080403	CS	1	-	InventoryLevel	Inventory Level
00080404	DT	1	-	ItemInventoryDateTime	Item Inventory DateTime
00080405	CS	1	-	RemovedFromOperationalUse	Removed from Operational Use
00080406	SQ	1	-	ReasonForRemovalCodeSequence	Reason for Removal Code Sequence
00080407	UR	1	-	StoredInstanceBaseURI	Stored Instance Base URI
00080408	UR	1	-	FolderAccessURI	Folder Access URI
00080409	UR	1	-	FileAccessURI	File Access URI
0008040A	CS	1	-	ContainerFileType	Container File Type
0008040B	UR	1	-	FilenameInContainer	Filename in Container
0008040C	UV	1	-	FileOffsetInContainer	File Offset in Container
0008040D	UV	1	-	FileLengthInContainer	File Length in Container
0008040E	UI	1	-	StoredInstanceTransferSyntaxUID	Stored Instance Transfer Syntax UID
0008040F	CS	1-n	-	ExtendedMatchingMechanisms	Extended Matching Mechanisms
00080410	SQ	1	-	RangeMatchingSequence	Range Matching Sequence
00080411	SQ	1	-	ListOfUIDMatchingSequence	List of UID Matching Sequence
00080412	SQ	1	-	EmptyValueMatchingSequence	Empty Value Matching Sequence
00080413	SQ	1	-	GeneralMatchingSequence	General Matching Sequence
00080414	US	1	-	RequestedStatusInterval	Requested Status Interval
00080415	CS	1	-	RetainInstances	Retain Instances
00080416	DT	1	-	ExpirationDateTime	Expiration DateTime
00080417	CS	1	-	TransactionStatus	Transaction Status
00080418	LT	1	-	TransactionStatusComment	Transaction Status Comment
00080419	SQ	1	-	FileSetAccessSequence	File Set Access Sequence
0008041A	SQ	1	-	FileAccessSequence	File Access Sequence
0008041B	OB	1	-	RecordKey	Record Key
0008041C	OB	1	-	PriorRecordKey	Prior Record Key
0008041D	SQ	1	-	MetadataSequence	Metadata Sequence
0008041E	SQ	1	-	UpdatedMetadataSequence	Updated Metadata Sequence
0008041F	DT	1	-	StudyUpdateDateTime	Study Update DateTime
00080420	SQ	1	-	InventoryAccessEndPointsSequence	Inventory Access End Points Sequence
00080421	SQ	1	-	StudyAccessEndPointsSequence	Study Access End Points Sequence
00080422	SQ	1	-	IncorporatedInventoryInstanceSequence	Incorporated Inventory Instance Sequence
00080423	SQ	1	-	InventoriedStudiesSequence	Inventoried Studies Sequence
00080424	SQ	1	-	InventoriedSeriesSequence	Inventoried Series Sequence
00080425	SQ	1	-	InventoriedInstancesSequence	Inventoried Instances Sequence
00080426	CS	1	-	InventoryCompletionStatus	Inventory Completion Status
00080427	UL	1	-	NumberOfStudyRecordsInInstance	Number of Study Records in Instance
00080428	UV	1	-	TotalNumberOfStudyRecords	Total Number of Study Records
00080429	UV	1	-	MaximumNumberOfRecords	Maximum Number of Records
00081000	AE	1	R	NetworkID	Network ID
00081010	SH	1	-	StationName	Station Name
00081030	LO	1	-	StudyDescription	Study Description
00081032	SQ	1	-	ProcedureCodeSequence	Procedure Code Sequence
0008103E	LO	1	-	SeriesDescription	Series Description
0008103F	SQ	1	-	SeriesDescriptionCodeSequence	Series Description Code Sequence
00081040	LO	1	-	InstitutionalDepartmentName	Institutional Department Name
00081041	SQ	1	-	InstitutionalDepartmentTypeCodeSequence	Institutional Department Type Code Sequence
00081048	PN	1-n	-	PhysiciansOfRecord	Physician(s) of Record
00081049	SQ	1	-	PhysiciansOfRecordIdentificationSequence	Physician(s) of Record Identification Sequence
00081050	PN	1-n	-	PerformingPhysicianName	Performing Physician's Name
00081052	SQ	1	-	PerformingPhysicianIdentificationSequence	Performing Physician Identification Sequence
00081060	PN	1-n	-	NameOfPhysiciansReadingStudy	Name of Physician(s) Reading Study
00081062	SQ	1	-	PhysiciansReadingStudyIdentificationSequence	Physician(s) Reading Study Identification Sequence
00081070	PN	1-n	-	OperatorsName	Operators' Name
00081072	SQ	1	-	OperatorIdentificationSequence	Operator Identification Sequence
00081080	LO	1-n	-	AdmittingDiagnosesDescription	Admitting Diagnoses Description
00081084	SQ	1	-	AdmittingDiagnosesCodeSequence	Admitting Diagnoses Code Sequence
00081088	LO	1	-	PyramidDescription	Pyramid Description
00081090	LO	1	-	ManufacturerModelName	Manufacturer's Model Name
00081100	SQ	1	R	ReferencedResultsSequence	Referenced Results Sequence
00081110	SQ	1	-	ReferencedStudySequence	Referenced Study Sequence
00081111	SQ	1	-	ReferencedPerformedProcedureStepSequence	Referenced Performed Procedure Step Sequence
00081112	SQ	1	-	ReferencedInstancesBySOPClassSequence	Referenced Instances by SOP Class Sequence
00081115	SQ	1	-	ReferencedSeriesSequence	Referenced Series Sequence
00081120	SQ	1	-	ReferencedPatientSequence	Referenced Patient Sequence
00081125	SQ	1	-	ReferencedVisitSequence	Referenced Visit Sequence
00081130	SQ	1	R	ReferencedOverlaySequence	Referenced Overlay Sequence
00081134	SQ	1	-	ReferencedStereometricInstanceSequence	Referenced Stereometric Instance Sequence
0008113A	SQ	1	-	ReferencedWaveformSequence	Referenced Waveform Sequence
00081140	SQ	1	-	ReferencedImageSequence	Referenced Image Sequence
00081145	SQ	1	R	ReferencedCurveSequence	Referenced Curve Sequence
0008114A	SQ	1	-	ReferencedInstanceSequence	Referenced Instance Sequence
0008114B	SQ	1	-	ReferencedRealWorldValueMappingInstanceSequence	Referenced Real World Value Mapping Instance Sequence
00081150	UI	1	-	ReferencedSOPClassUID	Referenced SOP Class UID
00081155	UI	1	-	ReferencedSOPInstanceUID	Referenced SOP Instance UID
00081156	SQ	1	-	DefinitionSourceSequence	Definition Source Sequence
0008115A	UI	1-n	-	SOPClassesSupported	SOP Classes Supported
00081160	IS	1-n	-	ReferencedFrameNumber	Referenced Frame Number
00081161	UL	1-n	-	SimpleFrameList	Simple Frame List
00081162	UL	3-3n	-	CalculatedFrameList	Calculated Frame List
00081163	FD	2	-	TimeRange	Time Range
00081164	SQ	1	-	FrameExtractionSequence	Frame Extraction Sequence
00081167	UI	1	-	MultiFrameSourceSOPInstanceUID	Multi-frame Source SOP Instance UID
00081190	UR	1	-	RetrieveURL	Retrieve URL
00081195	UI	1	-	TransactionUID	Transaction UID
00081196	US	1	-	WarningReason	Warning Reason
00081197	US	1	-	FailureReason	Failure Reason
00081198	SQ	1	-	FailedSOPSequence	Failed SOP Sequence
00081199	SQ	1	-	ReferencedSOPSequence	Referenced SOP Sequence
0008119A	SQ	1	-	OtherFailuresSequence	Other Failures Sequence
0008119B	SQ	1	-	FailedStudySequence	Failed Study Sequence
00081200	SQ	1	-	StudiesContainingOtherReferencedInstancesSequence	Studies Containing Other Referenced Instances Sequence
00081250	SQ	1	-	RelatedSeriesSequence	Related Series Sequence
00082110	CS	1	R	LossyImageCompressionRetired	Lossy Image Compression (Retired)
00082111	ST	1	-	DerivationDescription	Derivation Description
00082112	SQ	1	-	SourceImageSequence	Source Image Sequence
00082120	SH	1	-	StageName	Stage Name
00082122	IS	1	-	StageNumber	Stage Number
00082124	IS	1	-	NumberOfStages	Number of Stages
00082127	SH	1	-	ViewName	View Name
00082128	IS	1	-	ViewNumber	View Number
00082129	IS	1	-	NumberOfEventTimers	Number of Event Timers
0008212A	IS	1	-	NumberOfViewsInStage	Number of Views in Stage
00082130	DS	1-n	-	EventElapsedTimes	Event Elapsed Time(s)
00082132	LO	1-n	-	EventTimerNames	Event Timer Name(s)
00082133	SQ	1	-	EventTimerSequence	Event Timer Sequence
00082134	FD	1	-	EventTimeOffset	Event Time Offset
00082135	SQ	1	-	EventCodeSequence	Event Code Sequence
00082142	IS	1	-	StartTrim	Start Trim
00082143	IS	1	-	StopTrim	Stop Trim
00082144	IS	1	-	RecommendedDisplayFrameRate	Recommended Display Frame Rate
00082200	CS	1	R	TransducerPosition	Transducer Position
00082204	CS	1	R	TransducerOrientation	Transducer Orientation
00082208	CS	1	R	AnatomicStructure	Anatomic Structure
00082218	SQ	1	-	AnatomicRegionSequence	Anatomic Region Sequence
00082220	SQ	1	-	AnatomicRegionModifierSequence	Anatomic Region Modifier Sequence
00082228	SQ	1	-	PrimaryAnatomicStructureSequence	Primary Anatomic Structure Sequence
00082229	SQ	1	R	AnatomicStructureSpaceOrRegionSequence	Anatomic Structure, Space or Region Sequence
00082230	SQ	1	-	PrimaryAnatomicStructureModifierSequence	Primary Anatomic Structure Modifier Sequence
00082240	SQ	1	R	TransducerPositionSequence	Transducer Position Sequence
00082242	SQ	1	R	TransducerPositionModifierSequence	Transducer Position Modifier Sequence
00082244	SQ	1	R	TransducerOrientationSequence	Transducer Orientation Sequence
00082246	SQ	1	R	TransducerOrientationModifierSequence	Transducer Orientation Modifier Sequence
00082251	SQ	1	R	AnatomicStructureSpaceOrRegionCodeSequenceTrial	Anatomic Structure Space Or Region Code Sequence (Trial)
00082253	SQ	1	R	AnatomicPortalOfEntranceCodeSequenceTrial	Anatomic Portal Of Entrance Code Sequence (Trial)
00082255	SQ	1	R	AnatomicApproachDirectionCodeSequenceTrial	Anatomic Approach Direction Code Sequence (Trial)
00082256	ST	1	R	AnatomicPerspectiveDescriptionTrial	Anatomic Perspective Description (Trial)
00082257	SQ	1	R	AnatomicPerspectiveCodeSequenceTrial	Anatomic Perspective Code Sequence (Trial)
00082258	ST	1	R	AnatomicLocationOfExaminingInstrumentDescriptionTrial	Anatomic Location Of Examining Instrument Description (Trial)
00082259	SQ	1	R	AnatomicLocationOfExaminingInstrumentCodeSequenceTrial	Anatomic Location Of Examining Instrument Code Sequence (Trial)
0008225A	SQ	1	R	AnatomicStructureSpaceOrRegionModifierCodeSequenceTrial	Anatomic Structure Space Or Region Modifier Code Sequence (Trial)
0008225C	SQ	1	R	OnAxisBackgroundAnatomicStructureCodeSequenceTrial	On Axis Background Anatomic Structure Code Sequence (Trial)
00083001	SQ	1	-	AlternateRepresentationSequence	Alternate Representation Sequence
00083002	UI	1-n	-	AvailableTransferSyntaxUID	Available Transfer Syntax UID
00083010	UI	1-n	-	IrradiationEventUID	Irradiation Event UID
00083011	SQ	1	-	SourceIrradiationEventSequence	Source Irradiation Event Sequence
00083012	UI	1	-	RadiopharmaceuticalAdministrationEventUID	Radiopharmaceutical Administration Event UID
00084000	LT	1	R	IdentifyingComments	Identifying Comments
00089007	CS	4-5	-	FrameType	Frame Type
00089092	SQ	1	-	ReferencedImageEvidenceSequence	Referenced Image Evidence Sequence
00089121	SQ	1	-	ReferencedRawDataSequence	Referenced Raw Data Sequence
00089123	UI	1	-	CreatorVersionUID	Creator-Version UID
00089124	SQ	1	-	DerivationImageSequence	Derivation Image Sequence
00089154	SQ	1	-	SourceImageEvidenceSequence	Source Image Evidence Sequence
00089205	CS	1	-	PixelPresentation	Pixel Presentation
00089206	CS	1	-	VolumetricProperties	Volumetric Properties
00089207	CS	1	-	VolumeBasedCalculationTechnique	Volume Based Calculation Technique
00089208	CS	1	-	ComplexImageComponent	Complex Image Component
00089209	CS	1	-	AcquisitionContrast	Acquisition Contrast
00089215	SQ	1	-	DerivationCodeSequence	Derivation Code Sequence
00089237	SQ	1	-	ReferencedPresentationStateSequence	Referenced Presentation State Sequence
00089410	SQ	1	-	ReferencedOtherPlaneSequence	Referenced Other Plane Sequence
00089458	SQ	1	-	FrameDisplaySequence	Frame Display Sequence
00089459	FL	1	-	RecommendedDisplayFrameRateInFloat	Recommended Display Frame Rate in Float
00089460	CS	1	-	SkipFrameRangeFlag	Skip Frame Range Flag
00100010	PN	1	-	PatientName	Patient's Name
00100020	LO	1	-	PatientID	Patient ID
00100021	LO	1	-	IssuerOfPatientID	Issuer of Patient ID
00100022	CS	1	-	TypeOfPatientID	Type of Patient ID
00100024	SQ	1	-	IssuerOfPatientIDQualifiersSequence	Issuer of Patient ID Qualifiers Sequence
00100026	SQ	1	-	SourcePatientGroupIdentificationSequence	Source Patient Group Identification Sequence
00100027	SQ	1	-	GroupOfPatientsIdentificationSequence	Group of Patients Identification Sequence
00100028	US	3	-	SubjectRelativePositionInImage	Subject Relative Position in Image
00100030	DA	1	-	PatientBirthDate	Patient's Birth Date
00100032	TM	1	-	PatientBirthTime	Patient's Birth Time
00100033	LO	1	-	PatientBirthDateInAlternativeCalendar	Patient's Birth Date in Alternative Calendar
00100034	LO	1	-	PatientDeathDateInAlternativeCalendar	Patient's Death Date in Alternative Calendar
00100035	CS	1	-	PatientAlternativeCalendar	Patient's Alternative Calendar
00100040	CS	1	-	PatientSex	Patient's Sex
00100050	SQ	1	-	PatientInsurancePlanCodeSequence	Patient's Insurance Plan Code Sequence
00100101	SQ	1	-	PatientPrimaryLanguageCodeSequence	Patient's Primary Language Code Sequence
00100102	SQ	1	-	PatientPrimaryLanguageModifierCodeSequence	Patient's Primary Language Modifier Code Sequence
00100200	CS	1	-	QualityControlSubject	Quality Control Subject
00100201	SQ	1	-	QualityControlSubjectTypeCodeSequence	Quality Control Subject Type Code Sequence
00100212	UC	1	-	StrainDescription	Strain Description
00100213	LO	1	-	StrainNomenclature	Strain Nomenclature
00100214	LO	1	-	StrainStockNumber	Strain Stock Number
00100215	SQ	1	-	StrainSourceRegistryCodeSequence	Strain Source Registry Code Sequence
00100216	SQ	1	-	StrainStockSequence	Strain Stock Sequence
00100217	LO	1	-	StrainSource	Strain Source
00100218	UT	1	-	StrainAdditionalInformation	Strain Additional Information
00100219	SQ	1	-	StrainCodeSequence	Strain Code Sequence
00100221	SQ	1	-	GeneticModificationsSequence	Genetic Modifications Sequence
00100222	UC	1	-	GeneticModificationsDescription	Genetic Modifications Description
00100223	LO	1	-	GeneticModificationsNomenclature	Genetic Modifications Nomenclature
00100229	SQ	1	-	GeneticModificationsCodeSequence	Genetic Modifications Code Sequence
00101000	LO	1-n	R	OtherPatientIDs	Other Patient IDs
00101001	PN	1-n	-	OtherPatientNames	Other Patient Names
00101002	SQ	1	-	OtherPatientIDsSequence	Other Patient IDs Sequence
00101005	PN	1	-	PatientBirthName	Patient's Birth Name
00101010	AS	1	-	PatientAge	Patient's Age
00101020	DS	1	-	PatientSize	Patient's Size
00101021	SQ	1	-	PatientSizeCodeSequence	Patient's Size Code Sequence
00101022	DS	1	-	PatientBodyMassIndex	Patient's Body Mass Index
00101023	DS	1	-	MeasuredAPDimension	Measured AP Dimension
00101024	DS	1	-	MeasuredLateralDimension	Measured Lateral Dimension
00101030	DS	1	-	PatientWeight	Patient's Weight
00101040	LO	1	-	PatientAddress	Patient's Address
00101050	LO	1-n	R	InsurancePlanIdentification	Insurance Plan Identification
00101060	PN	1	-	PatientMotherBirthName	Patient's Mother's Birth Name
00101080	LO	1	-	MilitaryRank	Military Rank
00101081	LO	1	-	BranchOfService	Branch of Service
00101090	LO	1	R	MedicalRecordLocator	Medical Record Locator
00101100	SQ	1	-	ReferencedPatientPhotoSequence	Referenced Patient Photo Sequence
00102000	LO	1-n	-	MedicalAlerts	Medical Alerts
00102110	LO	1-n	-	Allergies	Allergies
00102150	LO	1	-	CountryOfResidence	Country of Residence
00102152	LO	1	-	RegionOfResidence	Region of Residence
00102154	SH	1-n	-	PatientTelephoneNumbers	Patient's Telephone Numbers
00102155	LT	1	-	PatientTelecomInformation	Patient's Telecom Information
00102160	SH	1	-	EthnicGroup	Ethnic Group
00102161	SQ	1	-	EthnicGroupCodeSequence	Ethnic Group Code Sequence
00102180	SH	1	-	Occupation	Occupation
001021A0	CS	1	-	SmokingStatus	Smoking Status
001021B0	LT	1	-	AdditionalPatientHistory	Additional Patient History
001021C0	US	1	-	PregnancyStatus	Pregnancy Status
001021D0	DA	1	-	LastMenstrualDate	Last Menstrual Date
001021F0	LO	1	-	PatientReligiousPreference	Patient's Religious Preference
00102201	LO	1	-	PatientSpeciesDescription	Patient Species Description
00102202	SQ	1	-	PatientSpeciesCodeSequence	Patient Species Code Sequence
00102203	CS	1	-	PatientSexNeutered	Patient's Sex Neutered
00102210	CS	1	-	AnatomicalOrientationType	Anatomical Orientation Type
00102292	LO	1	-	PatientBreedDescription	Patient Breed Description
00102293	SQ	1	-	PatientBreedCodeSequence	Patient Breed Code Sequence
00102294	SQ	1	-	BreedRegistrationSequence	Breed Registration Sequence
00102295	LO	1	-	BreedRegistrationNumber	Breed Registration Number
00102296	SQ	1	-	BreedRegistryCodeSequence	Breed Registry Code Sequence
00102297	PN	1	-	ResponsiblePerson	Responsible Person
00102298	CS	1	-	ResponsiblePersonRole	Responsible Person Role
00102299	LO	1	-	ResponsibleOrganization	Responsible Organization
00104000	LT	1	-	PatientComments	Patient Comments
00109431	FL	1	-	ExaminedBodyThickness	Examined Body Thickness
00120010	LO	1	-	ClinicalTrialSponsorName	Clinical Trial Sponsor Name
00120020	LO	1	-	ClinicalTrialProtocolID	Clinical Trial Protocol ID
00120021	LO	1	-	ClinicalTrialProtocolName	Clinical Trial Protocol Name
00120022	LO	1	-	IssuerOfClinicalTrialProtocolID	Issuer of Clinical Trial Protocol ID
00120023	SQ	1	-	OtherClinicalTrialProtocolIDsSequence	Other Clinical Trial Protocol IDs Sequence
00120030	LO	1	-	ClinicalTrialSiteID	Clinical Trial Site ID
00120031	LO	1	-	ClinicalTrialSiteName	Clinical Trial Site Name
00120032	LO	1	-	IssuerOfClinicalTrialSiteID	Issuer of Clinical Trial Site ID
00120040	LO	1	-	ClinicalTrialSubjectID	Clinical Trial Subject ID
00120041	LO	1	-	IssuerOfClinicalTrialSubjectID	Issuer of Clinical Trial Subject ID
00120042	LO	1	-	ClinicalTrialSubjectReadingID	Clinical Trial Subject Reading ID
00120043	LO	1	-	IssuerOfClinicalTrialSubjectReadingID	Issuer of Clinical Trial Subject Reading ID
00120050	LO	1	-	ClinicalTrialTimePointID	Clinical Trial Time Point ID
00120051	ST	1	-	ClinicalTrialTimePointDescription	Clinical Trial Time Point Description
00120052	FD	1	-	LongitudinalTemporalOffsetFromEvent	Longitudinal Temporal Offset from Event
00120053	CS	1	-	LongitudinalTemporalEventType	Longitudinal Temporal Event Type
00120054	SQ	1	-	ClinicalTrialTimePointTypeCodeSequence	Clinical Trial Time Point Type Code Sequence
00120055	LO	1	-	IssuerOfClinicalTrialTimePointID	Issuer of Clinical Trial Time Point ID
00120060	LO	1	-	ClinicalTrialCoordinatingCenterName	Clinical Trial Coordinating Center Name
00120062	CS	1	-	PatientIdentityRemoved	Patient Identity Removed
00120063	LO	1-n	-	DeidentificationMethod	De-identification Method
00120064	SQ	1	-	DeidentificationMethodCodeSequence	De-identification Method Code Sequence
00120071	LO	1	-	ClinicalTrialSeriesID	Clinical Trial Series ID
00120072	LO	1	-	ClinicalTrialSeriesDescription	Clinical Trial Series Description
00120073	LO	1	-	IssuerOfClinicalTrialSeriesID	Issuer of Clinical Trial Series ID
00120081	LO	1	-	ClinicalTrialProtocolEthicsCommitteeName	Clinical Trial Protocol Ethics Committee Name
00120082	LO	1	-	ClinicalTrialProtocolEthicsCommitteeApprovalNumber	Clinical Trial Protocol Ethics Committee Approval Number
00120083	SQ	1	-	ConsentForClinicalTrialUseSequence	Consent for Clinical Trial Use Sequence
00120084	CS	1	-	DistributionType	Distribution Type
00120085	CS	1	-	ConsentForDistributionFlag	Consent for Distribution Flag
00120086	DA	1	-	EthicsCommitteeApprovalEffectivenessStartDate	Ethics Committee Approval Effectiveness Start Date
00120087	DA	1	-	EthicsCommitteeApprovalEffectivenessEndDate	Ethics Committee Approval Effectiveness End Date
00140023	ST	1	R	CADFileFormat	CAD File Format
00140024	ST	1	R	ComponentReferenceSystem	Component Reference System
00140025	ST	1	-	ComponentManufacturingProcedure	Component Manufacturing Procedure
00140028	ST	1	-	ComponentManufacturer	Component Manufacturer
00140030	DS	1-n	-	MaterialThickness	Material Thickness
00140032	DS	1-n	-	MaterialPipeDiameter	Material Pipe Diameter
00140034	DS	1-n	-	MaterialIsolationDiameter	Material Isolation Diameter
00140042	ST	1	-	MaterialGrade	Material Grade
00140044	ST	1	-	MaterialPropertiesDescription	Material Properties Description
00140045	ST	1	R	MaterialPropertiesFileFormatRetired	Material Properties File Format (Retired)
00140046	LT	1	-	MaterialNotes	Material Notes
00140050	CS	1	-	ComponentShape	Component Shape
00140052	CS	1	-	CurvatureType	Curvature Type
00140054	DS	1	-	OuterDiameter	Outer Diameter
00140056	DS	1	-	InnerDiameter	Inner Diameter
00140100	LO	1-n	-	ComponentWelderIDs	Component Welder IDs
00140101	CS	1	-	SecondaryApprovalStatus	Secondary Approval Status
00140102	DA	1	-	SecondaryReviewDate	Secondary Review Date
00140103	TM	1	-	SecondaryReviewTime	Secondary Review Time
00140104	PN	1	-	SecondaryReviewerName	Secondary Reviewer Name
00140105	ST	1	-	RepairID	Repair ID
00140106	SQ	1	-	MultipleComponentApprovalSequence	Multiple Component Approval Sequence
00140107	CS	1-n	-	OtherApprovalStatus	Other Approval Status
00140108	CS	1-n	-	OtherSecondaryApprovalStatus	Other Secondary Approval Status
00140200	SQ	1	-	DataElementLabelSequence	Data Element Label Sequence
00140201	SQ	1	-	DataElementLabelItemSequence	Data Element Label Item Sequence
00140202	AT	1	-	DataElement	Data Element
00140203	LO	1	-	DataElementName	Data Element Name
00140204	LO	1	-	DataElementDescription	Data Element Description
00140205	CS	1	-	DataElementConditionality	Data Element Conditionality
00140206	IS	1	-	DataElementMinimumCharacters	Data Element Minimum Characters
00140207	IS	1	-	DataElementMaximumCharacters	Data Element Maximum Characters
00141010	ST	1	-	ActualEnvironmentalConditions	Actual Environmental Conditions
00141020	DA	1	-	ExpiryDate	Expiry Date
00141040	ST	1	-	EnvironmentalConditions	Environmental Conditions
00142002	SQ	1	-	EvaluatorSequence	Evaluator Sequence
00142004	IS	1	-	EvaluatorNumber	Evaluator Number
00142006	PN	1	-	EvaluatorName	Evaluator Name
00142008	IS	1	-	EvaluationAttempt	Evaluation Attempt
00142012	SQ	1	-	IndicationSequence	Indication Sequence
00142014	IS	1	-	IndicationNumber	Indication Number
00142016	SH	1	-	IndicationLabel	Indication Label
00142018	ST	1	-	IndicationDescription	Indication Description
0014201A	CS	1-n	-	IndicationType	Indication Type
0014201C	CS	1	-	IndicationDisposition	Indication Disposition
0014201E	SQ	1	-	IndicationROISequence	Indication ROI Sequence
00142030	SQ	1	-	IndicationPhysicalPropertySequence	Indication Physical Property Sequence
00142032	SH	1	-	PropertyLabel	Property Label
00142202	IS	1	-	CoordinateSystemNumberOfAxes	Coordinate System Number of Axes
00142204	SQ	1	-	CoordinateSystemAxesSequence	Coordinate System Axes Sequence
00142206	ST	1	-	CoordinateSystemAxisDescription	Coordinate System Axis Description
00142208	CS	1	-	CoordinateSystemDataSetMapping	Coordinate System Data Set Mapping
0014220A	IS	1	-	CoordinateSystemAxisNumber	Coordinate System Axis Number
0014220C	CS	1	-	CoordinateSystemAxisType	Coordinate System Axis Type
0014220E	CS	1	-	CoordinateSystemAxisUnits	Coordinate System Axis Units
00142210	OB	1	-	CoordinateSystemAxisValues	Coordinate System Axis Values
00142220	SQ	1	-	CoordinateSystemTransformSequence	Coordinate System Transform Sequence
00142222	ST	1	-	TransformDescription	Transform Description
00142224	IS	1	-	TransformNumberOfAxes	Transform Number of Axes
00142226	IS	1-n	-	TransformOrderOfAxes	Transform Order of Axes
00142228	CS	1	-	TransformedAxisUnits	Transformed Axis Units
0014222A	DS	1-n	-	CoordinateSystemTransformRotationAndScaleMatrix	Coordinate System Transform Rotation and Scale Matrix
0014222C	DS	1-n	-	CoordinateSystemTransformTranslationMatrix	Coordinate System Transform Translation Matrix
00143011	DS	1	-	InternalDetectorFrameTime	Internal Detector Frame Time
00143012	DS	1	-	NumberOfFramesIntegrated	Number of Frames Integrated
00143020	SQ	1	-	DetectorTemperatureSequence	Detector Temperature Sequence
00143022	ST	1	-	SensorName	Sensor Name
00143024	DS	1	-	HorizontalOffsetOfSensor	Horizontal Offset of Sensor
00143026	DS	1	-	VerticalOffsetOfSensor	Vertical Offset of Sensor
00143028	DS	1	-	SensorTemperature	Sensor Temperature
00143040	SQ	1	-	DarkCurrentSequence	Dark Current Sequence
00143050	OB/OW	1	-	DarkCurrentCounts	Dark Current Counts
00143060	SQ	1	-	GainCorrectionReferenceSequence	Gain Correction Reference Sequence
00143070	OB/OW	1	-	AirCounts	Air Counts
00143071	DS	1	-	KVUsedInGainCalibration	KV Used in Gain Calibration
00143072	DS	1	-	MAUsedInGainCalibration	MA Used in Gain Calibration
00143073	DS	1	-	NumberOfFramesUsedForIntegration	Number of Frames Used for Integration
00143074	LO	1	-	FilterMaterialUsedInGainCalibration	Filter Material Used in Gain Calibration
00143075	DS	1	-	FilterThicknessUsedInGainCalibration	Filter Thickness Used in Gain Calibration
00143076	DA	1	-	DateOfGainCalibration	Date of Gain Calibration
00143077	TM	1	-	TimeOfGainCalibration	Time of Gain Calibration
00143080	OB	1	-	BadPixelImage	Bad Pixel Image
00143099	LT	1	-	CalibrationNotes	Calibration Notes
00143100	LT	1	-	LinearityCorrectionTechnique	Linearity Correction Technique
00143101	LT	1	-	BeamHardeningCorrectionTechnique	Beam Hardening Correction Technique
00144002	SQ	1	-	PulserEquipmentSequence	Pulser Equipment Sequence
00144004	CS	1	-	PulserType	Pulser Type
00144006	LT	1	-	PulserNotes	Pulser Notes
00144008	SQ	1	-	ReceiverEquipmentSequence	Receiver Equipment Sequence
0014400A	CS	1	-	AmplifierType	Amplifier Type
0014400C	LT	1	-	ReceiverNotes	Receiver Notes
0014400E	SQ	1	-	PreAmplifierEquipmentSequence	Pre-Amplifier Equipment Sequence
0014400F	LT	1	-	PreAmplifierNotes	Pre-Amplifier Notes
00144010	SQ	1	-	TransmitTransducerSequence	Transmit Transducer Sequence
00144011	SQ	1	-	ReceiveTransducerSequence	Receive Transducer Sequence
00144012	US	1	-	NumberOfElements	Number of Elements
00144013	CS	1	-	ElementShape	Element Shape
00144014	DS	1	-	ElementDimensionA	Element Dimension A
00144015	DS	1	-	ElementDimensionB	Element Dimension B
00144016	DS	1	-	ElementPitchA	Element Pitch A
00144017	DS	1	-	MeasuredBeamDimensionA	Measured Beam Dimension A
00144018	DS	1	-	MeasuredBeamDimensionB	Measured Beam Dimension B
00144019	DS	1	-	LocationOfMeasuredBeamDiameter	Location of Measured Beam Diameter
0014401A	DS	1	-	NominalFrequency	Nominal Frequency
0014401B	DS	1	-	MeasuredCenterFrequency	Measured Center Frequency
0014401C	DS	1	-	MeasuredBandwidth	Measured Bandwidth
0014401D	DS	1	-	ElementPitchB	Element Pitch B
00144020	SQ	1	-	PulserSettingsSequence	Pulser Settings Sequence
00144022	DS	1	-	PulseWidth	Pulse Width
00144024	DS	1	-	ExcitationFrequency	Excitation Frequency
00144026	CS	1	-	ModulationType	Modulation Type
00144028	DS	1	-	Damping	Damping
00144030	SQ	1	-	ReceiverSettingsSequence	Receiver Settings Sequence
00144031	DS	1	-	AcquiredSoundpathLength	Acquired Soundpath Length
00144032	CS	1	-	AcquisitionCompressionType	Acquisition Compression Type
00144033	IS	1	-	AcquisitionSampleSize	Acquisition Sample Size
00144034	DS	1	-	RectifierSmoothing	Rectifier Smoothing
00144035	SQ	1	-	DACSequence	DAC Sequence
00144036	CS	1	-	DACType	DAC Type
00144038	DS	1-n	-	DACGainPoints	DAC Gain Points
0014403A	DS	1-n	-	DACTimePoints	DAC Time Points
0014403C	DS	1-n	-	DACAmplitude	DAC Amplitude
00144040	SQ	1	-	PreAmplifierSettingsSequence	Pre-Amplifier Settings Sequence
00144050	SQ	1	-	TransmitTransducerSettingsSequence	Transmit Transducer Settings Sequence
00144051	SQ	1	-	ReceiveTransducerSettingsSequence	Receive Transducer Settings Sequence
00144052	DS	1	-	IncidentAngle	Incident Angle
00144054	ST	1	-	CouplingTechnique	Coupling Technique
00144056	ST	1	-	CouplingMedium	Coupling Medium
00144057	DS	1	-	CouplingVelocity	Coupling Velocity
00144058	DS	1	-	ProbeCenterLocationX	Probe Center Location X
00144059	DS	1	-	ProbeCenterLocationZ	Probe Center Location Z
0014405A	DS	1	-	SoundPathLength	Sound Path Length
0014405C	ST	1	-	DelayLawIdentifier	Delay Law Identifier
00144060	SQ	1	-	GateSettingsSequence	Gate Settings Sequence
00144062	DS	1	-	GateThreshold	Gate Threshold
00144064	DS	1	-	VelocityOfSound	Velocity of Sound
00144070	SQ	1	-	CalibrationSettingsSequence	Calibration Settings Sequence
00144072	ST	1	-	CalibrationProcedure	Calibration Procedure
00144074	SH	1	-	ProcedureVersion	Procedure Version
00144076	DA	1	-	ProcedureCreationDate	Procedure Creation Date
00144078	DA	1	-	ProcedureExpirationDate	Procedure Expiration Date
0014407A	DA	1	-	ProcedureLastModifiedDate	Procedure Last Modified Date
0014407C	TM	1-n	-	CalibrationTime	Calibration Time
0014407E	DA	1-n	-	CalibrationDate	Calibration Date
00144080	SQ	1	-	ProbeDriveEquipmentSequence	Probe Drive Equipment Sequence
00144081	CS	1	-	DriveType	Drive Type
00144082	LT	1	-	ProbeDriveNotes	Probe Drive Notes
00144083	SQ	1	-	DriveProbeSequence	Drive Probe Sequence
00144084	DS	1	-	ProbeInductance	Probe Inductance
00144085	DS	1	-	ProbeResistance	Probe Resistance
00144086	SQ	1	-	ReceiveProbeSequence	Receive Probe Sequence
00144087	SQ	1	-	ProbeDriveSettingsSequence	Probe Drive Settings Sequence
00144088	DS	1	-	BridgeResistors	Bridge Resistors
00144089	DS	1	-	ProbeOrientationAngle	Probe Orientation Angle
0014408B	DS	1	-	UserSelectedGainY	User Selected Gain Y
0014408C	DS	1	-	UserSelectedPhase	User Selected Phase
0014408D	DS	1	-	UserSelectedOffsetX	User Selected Offset X
0014408E	DS	1	-	UserSelectedOffsetY	User Selected Offset Y
00144091	SQ	1	-	ChannelSettingsSequence	Channel Settings Sequence
00144092	DS	1	-	ChannelThreshold	Channel Threshold
0014409A	SQ	1	-	ScannerSettingsSequence	Scanner Settings Sequence
0014409B	ST	1	-	ScanProcedure	Scan Procedure
0014409C	DS	1	-	TranslationRateX	Translation Rate X
0014409D	DS	1	-	TranslationRateY	Translation Rate Y
0014409F	DS	1	-	ChannelOverlap	Channel Overlap
001440A0	LO	1-n	-	ImageQualityIndicatorType	Image Quality Indicator Type
001440A1	LO	1-n	-	ImageQualityIndicatorMaterial	Image Quality Indicator Material
001440A2	LO	1-n	-	ImageQualityIndicatorSize	Image Quality Indicator Size
00145002	IS	1	-	LINACEnergy	LINAC Energy
00145004	IS	1	-	LINACOutput	LINAC Output
00145100	US	1	-	ActiveAperture	Active Aperture
00145101	DS	1	-	TotalAperture	Total Aperture
00145102	DS	1	-	ApertureElevation	Aperture Elevation
00145103	DS	1	-	MainLobeAngle	Main Lobe Angle
00145104	DS	1	-	MainRoofAngle	Main Roof Angle
00145105	CS	1	-	ConnectorType	Connector Type
00145106	SH	1	-	WedgeModelNumber	Wedge Model Number
00145107	DS	1	-	WedgeAngleFloat	Wedge Angle Float
00145108	DS	1	-	WedgeRoofAngle	Wedge Roof Angle
00145109	CS	1	-	WedgeElement1Position	Wedge Element 1 Position
0014510A	DS	1	-	WedgeMaterialVelocity	Wedge Material Velocity
0014510B	SH	1	-	WedgeMaterial	Wedge Material
0014510C	DS	1	-	WedgeOffsetZ	Wedge Offset Z
0014510D	DS	1	-	WedgeOriginOffsetX	Wedge Origin Offset X
0014510E	DS	1	-	WedgeTimeDelay	Wedge Time Delay
0014510F	SH	1	-	WedgeName	Wedge Name
00145110	SH	1	-	WedgeManufacturerName	Wedge Manufacturer Name
00145111	LO	1	-	WedgeDescription	Wedge Description
00145112	DS	1	-	NominalBeamAngle	Nominal Beam Angle
00145113	DS	1	-	WedgeOffsetX	Wedge Offset X
00145114	DS	1	-	WedgeOffsetY	Wedge Offset Y
00145115	DS	1	-	WedgeTotalLength	Wedge Total Length
00145116	DS	1	-	WedgeInContactLength	Wedge In Contact Length
00145117	DS	1	-	WedgeFrontGap	Wedge Front Gap
00145118	DS	1	-	WedgeTotalHeight	Wedge Total Height
00145119	DS	1	-	WedgeFrontHeight	Wedge Front Height
0014511A	DS	1	-	WedgeRearHeight	Wedge Rear Height
0014511B	DS	1	-	WedgeTotalWidth	Wedge Total Width
0014511C	DS	1	-	WedgeInContactWidth	Wedge In Contact Width
0014511D	DS	1	-	WedgeChamferHeight	Wedge Chamfer Height
0014511E	CS	1	-	WedgeCurve	Wedge Curve
0014511F	DS	1	-	RadiusAlongWedge	Radius Along the Wedge
00160001	DS	1	-	WhitePoint	White Point
00160002	DS	3	-	PrimaryChromaticities	Primary Chromaticities
00160003	UT	1	-	BatteryLevel	Battery Level
00160004	DS	1	-	ExposureTimeInSeconds	Exposure Time in Seconds
00160005	DS	1	-	FNumber	F-Number
00160006	IS	1	-	OECFRows	OECF Rows
00160007	IS	1	-	OECFColumns	OECF Columns
00160008	UC	1-n	-	OECFColumnNames	OECF Column Names
00160009	DS	1-n	-	OECFValues	OECF Values
0016000A	IS	1	-	SpatialFrequencyResponseRows	Spatial Frequency Response Rows
0016000B	IS	1	-	SpatialFrequencyResponseColumns	Spatial Frequency Response Columns
0016000C	UC	1-n	-	SpatialFrequencyResponseColumnNames	Spatial Frequency Response Column Names
0016000D	DS	1-n	-	SpatialFrequencyResponseValues	Spatial Frequency Response Values
0016000E	IS	1	-	ColorFilterArrayPatternRows	Color Filter Array Pattern Rows
0016000F	IS	1	-	ColorFilterArrayPatternColumns	Color Filter Array Pattern Columns
00160010	DS	1-n	-	ColorFilterArrayPatternValues	Color Filter Array Pattern Values
00160011	US	1	-	FlashFiringStatus	Flash Firing Status
00160012	US	1	-	FlashReturnStatus	Flash Return Status
00160013	US	1	-	FlashMode	Flash Mode
00160014	US	1	-	FlashFunctionPresent	Flash Function Present
00160015	US	1	-	FlashRedEyeMode	Flash Red Eye Mode
00160016	US	1	-	ExposureProgram	Exposure Program
00160017	UT	1	-	SpectralSensitivity	Spectral Sensitivity
00160018	IS	1	-	PhotographicSensitivity	Photographic Sensitivity
00160019	IS	1	-	SelfTimerMode	Self Timer Mode
0016001A	US	1	-	SensitivityType	Sensitivity Type
0016001B	IS	1	-	StandardOutputSensitivity	Standard Output Sensitivity
0016001C	IS	1	-	RecommendedExposureIndex	Recommended Exposure Index
0016001D	IS	1	-	ISOSpeed	ISO Speed
0016001E	IS	1	-	ISOSpeedLatitudeyyy	ISO Speed Latitude yyy
0016001F	IS	1	-	ISOSpeedLatitudezzz	ISO Speed Latitude zzz
00160020	UT	1	-	EXIFVersion	EXIF Version
00160021	DS	1	-	ShutterSpeedValue	Shutter Speed Value
00160022	DS	1	-	ApertureValue	Aperture Value
00160023	DS	1	-	BrightnessValue	Brightness Value
00160024	DS	1	-	ExposureBiasValue	Exposure Bias Value
00160025	DS	1	-	MaxApertureValue	Max Aperture Value
00160026	DS	1	-	SubjectDistance	Subject Distance
00160027	US	1	-	MeteringMode	Metering Mode
00160028	US	1	-	LightSource	Light Source
00160029	DS	1	-	FocalLength	Focal Length
0016002A	IS	2-4	-	SubjectArea	Subject Area
0016002B	OB	1	-	MakerNote	Maker Note
00160030	DS	1	-	Temperature	Temperature
00160031	DS	1	-	Humidity	Humidity
00160032	DS	1	-	Pressure	Pressure
00160033	DS	1	-	WaterDepth	Water Depth
00160034	DS	1	-	Acceleration	Acceleration
00160035	DS	1	-	CameraElevationAngle	Camera Elevation Angle
00160036	DS	1-2	-	FlashEnergy	Flash Energy
00160037	IS	2	-	SubjectLocation	Subject Location
00160038	DS	1	-	PhotographicExposureIndex	Photographic Exposure Index
00160039	US	1	-	SensingMethod	Sensing Method
0016003A	US	1	-	FileSource	File Source
0016003B	US	1	-	SceneType	Scene Type
00160041	US	1	-	CustomRendered	Custom Rendered
00160042	US	1	-	ExposureMode	Exposure Mode
00160043	US	1	-	WhiteBalance	White Balance
00160044	DS	1	-	DigitalZoomRatio	Digital Zoom Ratio
00160045	IS	1	-	FocalLengthIn35mmFilm	Focal Length In 35mm Film
00160046	US	1	-	SceneCaptureType	Scene Capture Type
00160047	US	1	-	GainControl	Gain Control
00160048	US	1	-	Contrast	Contrast
00160049	US	1	-	Saturation	Saturation
0016004A	US	1	-	Sharpness	Sharpness
0016004B	OB	1	-	DeviceSettingDescription	Device Setting Description
0016004C	US	1	-	SubjectDistanceRange	Subject Distance Range
0016004D	UT	1	-	CameraOwnerName	Camera Owner Name
0016004E	DS	4	-	LensSpecification	Lens Specification
0016004F	UT	1	-	LensMake	Lens Make
00160050	UT	1	-	LensModel	Lens Model
00160051	UT	1	-	LensSerialNumber	Lens Serial Number
00160061	CS	1	-	InteroperabilityIndex	Interoperability Index
00160062	OB	1	-	InteroperabilityVersion	Interoperability Version
00160070	OB	1	-	GPSVersionID	GPS Version ID
00160071	CS	1	-	GPSLatitudeRef	GPS Latitude Ref
00160072	DS	3	-	GPSLatitude	GPS Latitude
00160073	CS	1	-	GPSLongitudeRef	GPS Longitude Ref
00160074	DS	3	-	GPSLongitude	GPS Longitude
00160075	US	1	-	GPSAltitudeRef	GPS Altitude Ref
00160076	DS	1	-	GPSAltitude	GPS Altitude
00160077	DT	1	-	GPSTimeStamp	GPS Time Stamp
00160078	UT	1	-	GPSSatellites	GPS Satellites
00160079	CS	1	-	GPSStatus	GPS Status
0016007A	CS	1	-	GPSMeasureMode	GPS Measure Mode
0016007B	DS	1	-	GPSDOP	GPS DOP
0016007C	CS	1	-	GPSSpeedRef	GPS Speed Ref
0016007D	DS	1	-	GPSSpeed	GPS Speed
0016007E	CS	1	-	GPSTrackRef	GPS Track Ref
0016007F	DS	1	-	GPSTrack	GPS Track
00160080	CS	1	-	GPSImgDirectionRef	GPS Img Direction Ref
00160081	DS	1	-	GPSImgDirection	GPS Img Direction
00160082	UT	1	-	GPSMapDatum	GPS Map Datum
00160083	CS	1	-	GPSDestLatitudeRef	GPS Dest Latitude Ref
00160084	DS	3	-	GPSDestLatitude	GPS Dest Latitude
00160085	CS	1	-	GPSDestLongitudeRef	GPS Dest Longitude Ref
00160086	DS	3	-	GPSDestLongitude	GPS Dest Longitude
00160087	CS	1	-	GPSDestBearingRef	GPS Dest Bearing Ref
00160088	DS	1	-	GPSDestBearing	GPS Dest Bearing
00160089	CS	1	-	GPSDestDistanceRef	GPS Dest Distance Ref
0016008A	DS	1	-	GPSDestDistance	GPS Dest Distance
0016008B	OB	1	-	GPSProcessingMethod	GPS Processing Method
0016008C	OB	1	-	GPSAreaInformation	GPS Area Information
0016008D	DT	1	-	GPSDateStamp	GPS Date Stamp
0016008E	IS	1	-	GPSDifferential	GPS Differential
00161001	CS	1	-	LightSourcePolarization	Light Source Polarization
00161002	DS	1	-	EmitterColorTemperature	Emitter Color Temperature
00161003	CS	1	-	ContactMethod	Contact Method
00161004	CS	1-n	-	ImmersionMedia	Immersion Media
00161005	DS	1	-	OpticalMagnificationFactor	Optical Magnification Factor
00180010	LO	1	-	ContrastBolusAgent	Contrast/Bolus Agent
00180012	SQ	1	-	ContrastBolusAgentSequence	Contrast/Bolus Agent Sequence
00180013	FL	1	-	ContrastBolusT1Relaxivity	Contrast/Bolus T1 Relaxivity
00180014	SQ	1	-	ContrastBolusAdministrationRouteSequence	Contrast/Bolus Administration Route Sequence
00180015	CS	1	-	BodyPartExamined	Body Part Examined
00180020	CS	1-n	-	ScanningSequence	Scanning Sequence
00180021	CS	1-n	-	SequenceVariant	Sequence Variant
00180022	CS	1-n	-	ScanOptions	Scan Options
00180023	CS	1	-	MRAcquisitionType	MR Acquisition Type
00180024	SH	1	-	SequenceName	Sequence Name
00180025	CS	1	-	AngioFlag	Angio Flag
00180026	SQ	1	-	InterventionDrugInformationSequence	Intervention Drug Information Sequence
00180027	TM	1	-	InterventionDrugStopTime	Intervention Drug Stop Time
00180028	DS	1	-	InterventionDrugDose	Intervention Drug Dose
00180029	SQ	1	-	InterventionDrugCodeSequence	Intervention Drug Code Sequence
0018002A	SQ	1	-	AdditionalDrugSequence	Additional Drug Sequence
00180030	LO	1-n	R	Radionuclide	Radionuclide
00180031	LO	1	-	Radiopharmaceutical	Radiopharmaceutical
00180032	DS	1	R	EnergyWindowCenterline	Energy Window Centerline
00180033	DS	1-n	R	EnergyWindowTotalWidth	Energy Window Total Width
00180034	LO	1	-	InterventionDrugName	Intervention Drug Name
00180035	TM	1	-	InterventionDrugStartTime	Intervention Drug Start Time
00180036	SQ	1	-	InterventionSequence	Intervention Sequence
00180037	CS	1	R	TherapyType	Therapy Type
00180038	CS	1	-	InterventionStatus	Intervention Status
00180039	CS	1	R	TherapyDescription	Therapy Description
0018003A	ST	1	-	InterventionDescription	Intervention Description
00180040	IS	1	-	CineRate	Cine Rate
00180042	CS	1	-	InitialCineRunState	Initial Cine Run State
00180050	DS	1	-	SliceThickness	Slice Thickness
00180060	DS	1	-	KVP	KVP
00180061	DS	1	R		
00180070	IS	1	-	CountsAccumulated	Counts Accumulated
00180071	CS	1	-	AcquisitionTerminationCondition	Acquisition Termination Condition
00180072	DS	1	-	EffectiveDuration	Effective Duration
00180073	CS	1	-	AcquisitionStartCondition	Acquisition Start Condition
00180074	IS	1	-	AcquisitionStartConditionData	Acquisition Start Condition Data
00180075	IS	1	-	AcquisitionTerminationConditionData	Acquisition Termination Condition Data
00180080	DS	1	-	RepetitionTime	Repetition Time
00180081	DS	1	-	EchoTime	Echo Time
00180082	DS	1	-	InversionTime	Inversion Time
00180083	DS	1	-	NumberOfAverages	Number of Averages
00180084	DS	1	-	ImagingFrequency	Imaging Frequency
00180085	SH	1	-	ImagedNucleus	Imaged Nucleus
00180086	IS	1-n	-	EchoNumbers	Echo Number(s)
00180087	DS	1	-	MagneticFieldStrength	Magnetic Field Strength
00180088	DS	1	-	SpacingBetweenSlices	Spacing Between Slices
00180089	IS	1	-	NumberOfPhaseEncodingSteps	Number of Phase Encoding Steps
00180090	DS	1	-	DataCollectionDiameter	Data Collection Diameter
00180091	IS	1	-	EchoTrainLength	Echo Train Length
00180093	DS	1	-	PercentSampling	Percent Sampling
00180094	DS	1	-	PercentPhaseFieldOfView	Percent Phase Field of View
00180095	DS	1	-	PixelBandwidth	Pixel Bandwidth
00181000	LO	1	-	DeviceSerialNumber	Device Serial Number
00181002	UI	1	-	DeviceUID	Device UID
00181003	LO	1	-	DeviceID	Device ID
00181004	LO	1	-	PlateID	Plate ID
00181005	LO	1	-	GeneratorID	Generator ID
00181006	LO	1	-	GridID	Grid ID
00181007	LO	1	-	CassetteID	Cassette ID
00181008	LO	1	-	GantryID	Gantry ID
00181009	UT	1	-	UniqueDeviceIdentifier	Unique Device Identifier
0018100A	SQ	1	-	UDISequence	UDI Sequence
0018100B	UI	1-n	-	ManufacturerDeviceClassUID	Manufacturer's Device Class UID
00181010	LO	1	-	SecondaryCaptureDeviceID	Secondary Capture Device ID
00181011	LO	1	R	HardcopyCreationDeviceID	Hardcopy Creation Device ID
00181012	DA	1	-	DateOfSecondaryCapture	Date of Secondary Capture
00181014	TM	1	-	TimeOfSecondaryCapture	Time of Secondary Capture
00181016	LO	1	-	SecondaryCaptureDeviceManufacturer	Secondary Capture Device Manufacturer
00181017	LO	1	R	HardcopyDeviceManufacturer	Hardcopy Device Manufacturer
00181018	LO	1	-	SecondaryCaptureDeviceManufacturerModelName	Secondary Capture Device Manufacturer's Model Name
00181019	LO	1-n	-	SecondaryCaptureDeviceSoftwareVersions	Secondary Capture Device Software Versions
0018101A	LO	1-n	R	HardcopyDeviceSoftwareVersion	Hardcopy Device Software Version
0018101B	LO	1	R	HardcopyDeviceManufacturerModelName	Hardcopy Device Manufacturer's Model Name
00181020	LO	1-n	-	SoftwareVersions	Software Versions
00181022	SH	1	-	VideoImageFormatAcquired	Video Image Format Acquired
00181023	LO	1	-	DigitalImageFormatAcquired	Digital Image Format Acquired
00181030	LO	1	-	ProtocolName	Protocol Name
00181040	LO	1	-	ContrastBolusRoute	Contrast/Bolus Route
00181041	DS	1	-	ContrastBolusVolume	Contrast/Bolus Volume
00181042	TM	1	-	ContrastBolusStartTime	Contrast/Bolus Start Time
00181043	TM	1	-	ContrastBolusStopTime	Contrast/Bolus Stop Time
00181044	DS	1	-	ContrastBolusTotalDose	Contrast/Bolus Total Dose
00181045	IS	1	-	SyringeCounts	Syringe Counts
00181046	DS	1-n	-	ContrastFlowRate	Contrast Flow Rate
00181047	DS	1-n	-	ContrastFlowDuration	Contrast Flow Duration
00181048	CS	1	-	ContrastBolusIngredient	Contrast/Bolus Ingredient
00181049	DS	1	-	ContrastBolusIngredientConcentration	Contrast/Bolus Ingredient Concentration
00181050	DS	1	-	SpatialResolution	Spatial Resolution
00181060	DS	1	-	TriggerTime	Trigger Time
00181061	LO	1	-	TriggerSourceOrType	Trigger Source or Type
00181062	IS	1	-	NominalInterval	Nominal Interval
00181063	DS	1	-	FrameTime	Frame Time
00181064	LO	1	-	CardiacFramingType	Cardiac Framing Type
00181065	DS	1-n	-	FrameTimeVector	Frame Time Vector
00181066	DS	1	-	FrameDelay	Frame Delay
00181067	DS	1	-	ImageTriggerDelay	Image Trigger Delay
00181068	DS	1	-	MultiplexGroupTimeOffset	Multiplex Group Time Offset
00181069	DS	1	-	TriggerTimeOffset	Trigger Time Offset
0018106A	CS	1	-	SynchronizationTrigger	Synchronization Trigger
0018106C	US	2	-	SynchronizationChannel	Synchronization Channel
0018106E	UL	1	-	TriggerSamplePosition	Trigger Sample Position
00181070	LO	1	-	RadiopharmaceuticalRoute	Radiopharmaceutical Route
00181071	DS	1	-	RadiopharmaceuticalVolume	Radiopharmaceutical Volume
00181072	TM	1	-	RadiopharmaceuticalStartTime	Radiopharmaceutical Start Time
00181073	TM	1	-	RadiopharmaceuticalStopTime	Radiopharmaceutical Stop Time
00181074	DS	1	-	RadionuclideTotalDose	Radionuclide Total Dose
00181075	DS	1	-	RadionuclideHalfLife	Radionuclide Half Life
00181076	DS	1	-	RadionuclidePositronFraction	Radionuclide Positron Fraction
00181077	DS	1	-	RadiopharmaceuticalSpecificActivity	Radiopharmaceutical Specific Activity
00181078	DT	1	-	RadiopharmaceuticalStartDateTime	Radiopharmaceutical Start DateTime
00181079	DT	1	-	RadiopharmaceuticalStopDateTime	Radiopharmaceutical Stop DateTime
00181080	CS	1	-	BeatRejectionFlag	Beat Rejection Flag
00181081	IS	1	-	LowRRValue	Low R-R Value
00181082	IS	1	-	HighRRValue	High R-R Value
00181083	IS	1	-	IntervalsAcquired	Intervals Acquired
00181084	IS	1	-	IntervalsRejected	Intervals Rejected
00181085	LO	1	-	PVCRejection	PVC Rejection
00181086	IS	1	-	SkipBeats	Skip Beats
00181088	IS	1	-	HeartRate	Heart Rate
00181090	IS	1	-	CardiacNumberOfImages	Cardiac Number of Images
00181094	IS	1	-	TriggerWindow	Trigger Window
00181100	DS	1	-	ReconstructionDiameter	Reconstruction Diameter
00181110	DS	1	-	DistanceSourceToDetector	Distance Source to Detector
00181111	DS	1	-	DistanceSourceToPatient	Distance Source to Patient
00181114	DS	1	-	EstimatedRadiographicMagnificationFactor	Estimated Radiographic Magnification Factor
00181120	DS	1	-	GantryDetectorTilt	Gantry/Detector Tilt
00181121	DS	1	-	GantryDetectorSlew	Gantry/Detector Slew
00181130	DS	1	-	TableHeight	Table Height
00181131	DS	1	-	TableTraverse	Table Traverse
00181134	CS	1	-	TableMotion	Table Motion
00181135	DS	1-n	-	TableVerticalIncrement	Table Vertical Increment
00181136	DS	1-n	-	TableLateralIncrement	Table Lateral Increment
00181137	DS	1-n	-	TableLongitudinalIncrement	Table Longitudinal Increment
00181138	DS	1	-	TableAngle	Table Angle
0018113A	CS	1	-	TableType	Table Type
00181140	CS	1	-	RotationDirection	Rotation Direction
00181141	DS	1	R	AngularPosition	Angular Position
00181142	DS	1-n	-	RadialPosition	Radial Position
00181143	DS	1	-	ScanArc	Scan Arc
00181144	DS	1	-	AngularStep	Angular Step
00181145	DS	1	-	CenterOfRotationOffset	Center of Rotation Offset
00181146	DS	1-n	R	RotationOffset	Rotation Offset
00181147	CS	1	-	FieldOfViewShape	Field of View Shape
00181149	IS	1-2	-	FieldOfViewDimensions	Field of View Dimension(s)
00181150	IS	1	-	ExposureTime	Exposure Time
00181151	IS	1	-	XRayTubeCurrent	X-Ray Tube Current
00181152	IS	1	-	Exposure	Exposure
00181153	IS	1	-	ExposureInuAs	Exposure in uAs
00181154	DS	1	-	AveragePulseWidth	Average Pulse Width
00181155	CS	1	-	RadiationSetting	Radiation Setting
00181156	CS	1	-	RectificationType	Rectification Type
0018115A	CS	1	-	RadiationMode	Radiation Mode
0018115E	DS	1	-	ImageAndFluoroscopyAreaDoseProduct	Image and Fluoroscopy Area Dose Product
00181160	SH	1	-	FilterType	Filter Type
00181161	LO	1-n	-	TypeOfFilters	Type of Filters
00181162	DS	1	-	IntensifierSize	Intensifier Size
00181164	DS	2	-	ImagerPixelSpacing	Imager Pixel Spacing
00181166	CS	1-n	-	Grid	Grid
00181170	IS	1	-	GeneratorPower	Generator Power
00181180	SH	1	-	CollimatorGridName	Collimator/grid Name
00181181	CS	1	-	CollimatorType	Collimator Type
00181182	IS	1-2	-	FocalDistance	Focal Distance
00181183	DS	1-2	-	XFocusCenter	X Focus Center
00181184	DS	1-2	-	YFocusCenter	Y Focus Center
00181190	DS	1-n	-	FocalSpots	Focal Spot(s)
00181191	CS	1	-	AnodeTargetMaterial	Anode Target Material
001811A0	DS	1	-	BodyPartThickness	Body Part Thickness
001811A2	DS	1	-	CompressionForce	Compression Force
001811A3	DS	1	-	CompressionPressure	Compression Pressure
001811A4	LO	1	-	PaddleDescription	Paddle Description
001811A5	DS	1	-	CompressionContactArea	Compression Contact Area
001811B0	LO	1	-	AcquisitionMode	Acquisition Mode
001811B1	LO	1	-	DoseModeName	Dose Mode Name
001811B2	CS	1	-	AcquiredSubtractionMaskFlag	Acquired Subtraction Mask Flag
001811B3	CS	1	-	FluoroscopyPersistenceFlag	Fluoroscopy Persistence Flag
001811B4	CS	1	-	FluoroscopyLastImageHoldPersistenceFlag	Fluoroscopy Last Image Hold Persistence Flag
001811B5	IS	1	-	UpperLimitNumberOfPersistentFluoroscopyFrames	Upper Limit Number Of Persistent Fluoroscopy Frames
001811B6	CS	1	-	ContrastBolusAutoInjectionTriggerFlag	Contrast/Bolus Auto Injection Trigger Flag
001811B7	FD	1	-	ContrastBolusInjectionDelay	Contrast/Bolus Injection Delay
001811B8	SQ	1	-	XAAcquisitionPhaseDetailsSequence	XA Acquisition Phase Details Sequence
001811B9	FD	1	-	XAAcquisitionFrameRate	XA Acquisition Frame Rate
001811BA	SQ	1	-	XAPlaneDetailsSequence	XA Plane Details Sequence
001811BB	LO	1	-	AcquisitionFieldOfViewLabel	Acquisition Field of View Label
001811BC	SQ	1	-	XRayFilterDetailsSequence	X-Ray Filter Details Sequence
001811BD	FD	1	-	XAAcquisitionDuration	XA Acquisition Duration
001811BE	CS	1	-	ReconstructionPipelineType	Reconstruction Pipeline Type
001811BF	SQ	1	-	ImageFilterDetailsSequence	Image Filter Details Sequence
001811C0	CS	1	-	AppliedMaskSubtractionFlag	Applied Mask Subtraction Flag
001811C1	SQ	1	-	RequestedSeriesDescriptionCodeSequence	Requested Series Description Code Sequence
00181200	DA	1-n	-	DateOfLastCalibration	Date of Last Calibration
00181201	TM	1-n	-	TimeOfLastCalibration	Time of Last Calibration
00181202	DT	1	-	DateTimeOfLastCalibration	DateTime of Last Calibration
00181203	DT	1	-	CalibrationDateTime	Calibration DateTime
00181204	DA	1	-	DateOfManufacture	Date of Manufacture
00181205	DA	1	-	DateOfInstallation	Date of Installation
00181210	SH	1-n	-	ConvolutionKernel	Convolution Kernel
00181240	IS	1-n	R	UpperLowerPixelValues	Upper/Lower Pixel Values
00181242	IS	1	-	ActualFrameDuration	Actual Frame Duration
00181243	IS	1	-	CountRate	Count Rate
00181244	US	1	-	PreferredPlaybackSequencing	Preferred Playback Sequencing
00181250	SH	1	-	ReceiveCoilName	Receive Coil Name
00181251	SH	1	-	TransmitCoilName	Transmit Coil Name
00181260	SH	1	-	PlateType	Plate Type
00181261	LO	1	-	PhosphorType	Phosphor Type
00181271	FD	1	-	WaterEquivalentDiameter	Water Equivalent Diameter
00181272	SQ	1	-	WaterEquivalentDiameterCalculationMethodCodeSequence	Water Equivalent Diameter Calculation Method Code Sequence
00181300	DS	1	-	ScanVelocity	Scan Velocity
00181301	CS	1-n	-	WholeBodyTechnique	Whole Body Technique
00181302	IS	1	-	ScanLength	Scan Length
00181310	US	4	-	AcquisitionMatrix	Acquisition Matrix
00181312	CS	1	-	InPlanePhaseEncodingDirection	In-plane Phase Encoding Direction
00181314	DS	1	-	FlipAngle	Flip Angle
00181315	CS	1	-	VariableFlipAngleFlag	Variable Flip Angle Flag
00181316	DS	1	-	SAR	SAR
00181318	DS	1	-	dBdt	dB/dt
00181320	FL	1	-	B1rms	B1rms
00181400	LO	1	-	AcquisitionDeviceProcessingDescription	Acquisition Device Processing Description
00181401	LO	1	-	AcquisitionDeviceProcessingCode	Acquisition Device Processing Code
00181402	CS	1	-	CassetteOrientation	Cassette Orientation
00181403	CS	1	-	CassetteSize	Cassette Size
00181404	US	1	-	ExposuresOnPlate	Exposures on Plate
00181405	IS	1	-	RelativeXRayExposure	Relative X-Ray Exposure
00181411	DS	1	-	ExposureIndex	Exposure Index
00181412	DS	1	-	TargetExposureIndex	Target Exposure Index
00181413	DS	1	-	DeviationIndex	Deviation Index
00181450	DS	1	-	ColumnAngulation	Column Angulation
00181460	DS	1	-	TomoLayerHeight	Tomo Layer Height
00181470	DS	1	-	TomoAngle	Tomo Angle
00181480	DS	1	-	TomoTime	Tomo Time
00181490	CS	1	-	TomoType	Tomo Type
00181491	CS	1	-	TomoClass	Tomo Class
00181495	IS	1	-	NumberOfTomosynthesisSourceImages	Number of Tomosynthesis Source Images
00181500	CS	1	-	PositionerMotion	Positioner Motion
00181508	CS	1	-	PositionerType	Positioner Type
00181510	DS	1	-	PositionerPrimaryAngle	Positioner Primary Angle
00181511	DS	1	-	PositionerSecondaryAngle	Positioner Secondary Angle
00181520	DS	1-n	-	PositionerPrimaryAngleIncrement	Positioner Primary Angle Increment
00181521	DS	1-n	-	PositionerSecondaryAngleIncrement	Positioner Secondary Angle Increment
00181530	DS	1	-	DetectorPrimaryAngle	Detector Primary Angle
00181531	DS	1	-	DetectorSecondaryAngle	Detector Secondary Angle
00181600	CS	1-3	-	ShutterShape	Shutter Shape
00181602	IS	1	-	ShutterLeftVerticalEdge	Shutter Left Vertical Edge
00181604	IS	1	-	ShutterRightVerticalEdge	Shutter Right Vertical Edge
00181606	IS	1	-	ShutterUpperHorizontalEdge	Shutter Upper Horizontal Edge
00181608	IS	1	-	ShutterLowerHorizontalEdge	Shutter Lower Horizontal Edge
00181610	IS	2	-	CenterOfCircularShutter	Center of Circular Shutter
00181612	IS	1	-	RadiusOfCircularShutter	Radius of Circular Shutter
00181620	IS	2-2n	-	VerticesOfThePolygonalShutter	Vertices of the Polygonal Shutter
00181622	US	1	-	ShutterPresentationValue	Shutter Presentation Value
00181623	US	1	-	ShutterOverlayGroup	Shutter Overlay Group
00181624	US	3	-	ShutterPresentationColorCIELabValue	Shutter Presentation Color CIELab Value
00181630	CS	1	-	OutlineShapeType	Outline Shape Type
00181631	FD	1	-	OutlineLeftVerticalEdge	Outline Left Vertical Edge
00181632	FD	1	-	OutlineRightVerticalEdge	Outline Right Vertical Edge
00181633	FD	1	-	OutlineUpperHorizontalEdge	Outline Upper Horizontal Edge
00181634	FD	1	-	OutlineLowerHorizontalEdge	Outline Lower Horizontal Edge
00181635	FD	2	-	CenterOfCircularOutline	Center of Circular Outline
00181636	FD	1	-	DiameterOfCircularOutline	Diameter of Circular Outline
00181637	UL	1	-	NumberOfPolygonalVertices	Number of Polygonal Vertices
00181638	OF	1	-	VerticesOfThePolygonalOutline	Vertices of the Polygonal Outline
00181700	CS	1-3	-	CollimatorShape	Collimator Shape
00181702	IS	1	-	CollimatorLeftVerticalEdge	Collimator Left Vertical Edge
00181704	IS	1	-	CollimatorRightVerticalEdge	Collimator Right Vertical Edge
00181706	IS	1	-	CollimatorUpperHorizontalEdge	Collimator Upper Horizontal Edge
00181708	IS	1	-	CollimatorLowerHorizontalEdge	Collimator Lower Horizontal Edge
00181710	IS	2	-	CenterOfCircularCollimator	Center of Circular Collimator
00181712	IS	1	-	RadiusOfCircularCollimator	Radius of Circular Collimator
00181720	IS	2-2n	-	VerticesOfThePolygonalCollimator	Vertices of the Polygonal Collimator
00181800	CS	1	-	AcquisitionTimeSynchronized	Acquisition Time Synchronized
00181801	SH	1	-	TimeSource	Time Source
00181802	CS	1	-	TimeDistributionProtocol	Time Distribution Protocol
00181803	LO	1	-	NTPSourceAddress	NTP Source Address
00182001	IS	1-n	-	PageNumberVector	Page Number Vector
00182002	SH	1-n	-	FrameLabelVector	Frame Label Vector
00182003	DS	1-n	-	FramePrimaryAngleVector	Frame Primary Angle Vector
00182004	DS	1-n	-	FrameSecondaryAngleVector	Frame Secondary Angle Vector
00182005	DS	1-n	-	SliceLocationVector	Slice Location Vector
00182006	SH	1-n	-	DisplayWindowLabelVector	Display Window Label Vector
00182010	DS	2	-	NominalScannedPixelSpacing	Nominal Scanned Pixel Spacing
00182020	CS	1	-	DigitizingDeviceTransportDirection	Digitizing Device Transport Direction
00182030	DS	1	-	RotationOfScannedFilm	Rotation of Scanned Film
00182041	SQ	1	-	BiopsyTargetSequence	Biopsy Target Sequence
00182042	UI	1	-	TargetUID	Target UID
00182043	FL	2	-	LocalizingCursorPosition	Localizing Cursor Position
00182044	FL	3	-	CalculatedTargetPosition	Calculated Target Position
00182045	SH	1	-	TargetLabel	Target Label
00182046	FL	1	-	DisplayedZValue	Displayed Z Value
00183100	CS	1	-	IVUSAcquisition	IVUS Acquisition
00183101	DS	1	-	IVUSPullbackRate	IVUS Pullback Rate
00183102	DS	1	-	IVUSGatedRate	IVUS Gated Rate
00183103	IS	1	-	IVUSPullbackStartFrameNumber	IVUS Pullback Start Frame Number
00183104	IS	1	-	IVUSPullbackStopFrameNumber	IVUS Pullback Stop Frame Number
00183105	IS	1-n	-	LesionNumber	Lesion Number
00184000	LT	1	R	AcquisitionComments	Acquisition Comments
00185000	SH	1-n	-	OutputPower	Output Power
00185010	LO	1-n	-	TransducerData	Transducer Data
00185011	SQ	1	-	TransducerIdentificationSequence	Transducer Identification Sequence
00185012	DS	1	-	FocusDepth	Focus Depth
00185020	LO	1	-	ProcessingFunction	Processing Function
00185021	LO	1	R	PostprocessingFunction	Postprocessing Function
00185022	DS	1	-	MechanicalIndex	Mechanical Index
00185024	DS	1	-	BoneThermalIndex	Bone Thermal Index
00185026	DS	1	-	CranialThermalIndex	Cranial Thermal Index
00185027	DS	1	-	SoftTissueThermalIndex	Soft Tissue Thermal Index
00185028	DS	1	-	SoftTissueFocusThermalIndex	Soft Tissue-focus Thermal Index
00185029	DS	1	-	SoftTissueSurfaceThermalIndex	Soft Tissue-surface Thermal Index
00185030	DS	1	R	DynamicRange	Dynamic Range
00185040	DS	1	R	TotalGain	Total Gain
00185050	IS	1	-	DepthOfScanField	Depth of Scan Field
00185100	CS	1	-	PatientPosition	Patient Position
00185101	CS	1	-	ViewPosition	View Position
00185104	SQ	1	-	ProjectionEponymousNameCodeSequence	Projection Eponymous Name Code Sequence
00185210	DS	6	R	ImageTransformationMatrix	Image Transformation Matrix
00185212	DS	3	R	ImageTranslationVector	Image Translation Vector
00186000	DS	1	-	Sensitivity	Sensitivity
00186011	SQ	1	-	SequenceOfUltrasoundRegions	Sequence of Ultrasound Regions
00186012	US	1	-	RegionSpatialFormat	Region Spatial Format
00186014	US	1	-	RegionDataType	Region Data Type
00186016	UL	1	-	RegionFlags	Region Flags
00186018	UL	1	-	RegionLocationMinX0	Region Location Min X0
0018601A	UL	1	-	RegionLocationMinY0	Region Location Min Y0
0018601C	UL	1	-	RegionLocationMaxX1	Region Location Max X1
0018601E	UL	1	-	RegionLocationMaxY1	Region Location Max Y1
00186020	SL	1	-	ReferencePixelX0	Reference Pixel X0
00186022	SL	1	-	ReferencePixelY0	Reference Pixel Y0
00186024	US	1	-	PhysicalUnitsXDirection	Physical Units X Direction
00186026	US	1	-	PhysicalUnitsYDirection	Physical Units Y Direction
00186028	FD	1	-	ReferencePixelPhysicalValueX	Reference Pixel Physical Value X
0018602A	FD	1	-	ReferencePixelPhysicalValueY	Reference Pixel Physical Value Y
0018602C	FD	1	-	PhysicalDeltaX	Physical Delta X
0018602E	FD	1	-	PhysicalDeltaY	Physical Delta Y
00186030	UL	1	-	TransducerFrequency	Transducer Frequency
00186031	CS	1	-	TransducerType	Transducer Type
00186032	UL	1	-	PulseRepetitionFrequency	Pulse Repetition Frequency
00186034	FD	1	-	DopplerCorrectionAngle	Doppler Correction Angle
00186036	FD	1	-	SteeringAngle	Steering Angle
00186038	UL	1	R	DopplerSampleVolumeXPositionRetired	Doppler Sample Volume X Position (Retired)
00186039	SL	1	-	DopplerSampleVolumeXPosition	Doppler Sample Volume X Position
0018603A	UL	1	R	DopplerSampleVolumeYPositionRetired	Doppler Sample Volume Y Position (Retired)
0018603B	SL	1	-	DopplerSampleVolumeYPosition	Doppler Sample Volume Y Position
0018603C	UL	1	R	TMLinePositionX0Retired	TM-Line Position X0 (Retired)
0018603D	SL	1	-	TMLinePositionX0	TM-Line Position X0
0018603E	UL	1	R	TMLinePositionY0Retired	TM-Line Position Y0 (Retired)
0018603F	SL	1	-	TMLinePositionY0	TM-Line Position Y0
00186040	UL	1	R	TMLinePositionX1Retired	TM-Line Position X1 (Retired)
00186041	SL	1	-	TMLinePositionX1	TM-Line Position X1
00186042	UL	1	R	TMLinePositionY1Retired	TM-Line Position Y1 (Retired)
00186043	SL	1	-	TMLinePositionY1	TM-Line Position Y1
00186044	US	1	-	PixelComponentOrganization	Pixel Component Organization
00186046	UL	1	-	PixelComponentMask	Pixel Component Mask
00186048	UL	1	-	PixelComponentRangeStart	Pixel Component Range Start
0018604A	UL	1	-	PixelComponentRangeStop	Pixel Component Range Stop
0018604C	US	1	-	PixelComponentPhysicalUnits	Pixel Component Physical Units
0018604E	US	1	-	PixelComponentDataType	Pixel Component Data Type
00186050	UL	1	-	NumberOfTableBreakPoints	Number of Table Break Points
00186052	UL	1-n	-	TableOfXBreakPoints	Table of X Break Points
00186054	FD	1-n	-	TableOfYBreakPoints	Table of Y Break Points
00186056	UL	1	-	NumberOfTableEntries	Number of Table Entries
00186058	UL	1-n	-	TableOfPixelValues	Table of Pixel Values
0018605A	FL	1-n	-	TableOfParameterValues	Table of Parameter Values
00186060	FL	1-n	-	RWaveTimeVector	R Wave Time Vector
00186070	US	1	-	ActiveImageAreaOverlayGroup	Active Image Area Overlay Group
00187000	CS	1	-	DetectorConditionsNominalFlag	Detector Conditions Nominal Flag
00187001	DS	1	-	DetectorTemperature	Detector Temperature
00187004	CS	1	-	DetectorType	Detector Type
00187005	CS	1	-	DetectorConfiguration	Detector Configuration
00187006	LT	1	-	DetectorDescription	Detector Description
00187008	LT	1	-	DetectorMode	Detector Mode
0018700A	SH	1	-	DetectorID	Detector ID
0018700C	DA	1	-	DateOfLastDetectorCalibration	Date of Last Detector Calibration
0018700E	TM	1	-	TimeOfLastDetectorCalibration	Time of Last Detector Calibration
00187010	IS	1	-	ExposuresOnDetectorSinceLastCalibration	Exposures on Detector Since Last Calibration
00187011	IS	1	-	ExposuresOnDetectorSinceManufactured	Exposures on Detector Since Manufactured
00187012	DS	1	-	DetectorTimeSinceLastExposure	Detector Time Since Last Exposure
00187014	DS	1	-	DetectorActiveTime	Detector Active Time
00187016	DS	1	-	DetectorActivationOffsetFromExposure	Detector Activation Offset From Exposure
0018701A	DS	2	-	DetectorBinning	Detector Binning
00187020	DS	2	-	DetectorElementPhysicalSize	Detector Element Physical Size
00187022	DS	2	-	DetectorElementSpacing	Detector Element Spacing
00187024	CS	1	-	DetectorActiveShape	Detector Active Shape
00187026	DS	1-2	-	DetectorActiveDimensions	Detector Active Dimension(s)
00187028	DS	2	-	DetectorActiveOrigin	Detector Active Origin
0018702A	LO	1	-	DetectorManufacturerName	Detector Manufacturer Name
0018702B	LO	1	-	DetectorManufacturerModelName	Detector Manufacturer's Model Name
00187030	DS	2	-	FieldOfViewOrigin	Field of View Origin
00187032	DS	1	-	FieldOfViewRotation	Field of View Rotation
00187034	CS	1	-	FieldOfViewHorizontalFlip	Field of View Horizontal Flip
00187036	FL	2	-	PixelDataAreaOriginRelativeToFOV	Pixel Data Area Origin Relative To FOV
00187038	FL	1	-	PixelDataAreaRotationAngleRelativeToFOV	Pixel Data Area Rotation Angle Relative To FOV
00187040	LT	1	-	GridAbsorbingMaterial	Grid Absorbing Material
00187041	LT	1	-	GridSpacingMaterial	Grid Spacing Material
00187042	DS	1	-	GridThickness	Grid Thickness
00187044	DS	1	-	GridPitch	Grid Pitch
00187046	IS	2	-	GridAspectRatio	Grid Aspect Ratio
00187048	DS	1	-	GridPeriod	Grid Period
0018704C	DS	1	-	GridFocalDistance	Grid Focal Distance
00187050	CS	1-n	-	FilterMaterial	Filter Material
00187052	DS	1-n	-	FilterThicknessMinimum	Filter Thickness Minimum
00187054	DS	1-n	-	FilterThicknessMaximum	Filter Thickness Maximum
00187056	FL	1-n	-	FilterBeamPathLengthMinimum	Filter Beam Path Length Minimum
00187058	FL	1-n	-	FilterBeamPathLengthMaximum	Filter Beam Path Length Maximum
00187060	CS	1	-	ExposureControlMode	Exposure Control Mode
00187062	LT	1	-	ExposureControlModeDescription	Exposure Control Mode Description
00187064	CS	1	-	ExposureStatus	Exposure Status
00187065	DS	1	-	PhototimerSetting	Phototimer Setting
00188150	DS	1	-	ExposureTimeInuS	Exposure Time in uS
00188151	DS	1	-	XRayTubeCurrentInuA	X-Ray Tube Current in uA
00189004	CS	1	-	ContentQualification	Content Qualification
00189005	SH	1	-	PulseSequenceName	Pulse Sequence Name
00189006	SQ	1	-	MRImagingModifierSequence	MR Imaging Modifier Sequence
00189008	CS	1	-	EchoPulseSequence	Echo Pulse Sequence
00189009	CS	1	-	InversionRecovery	Inversion Recovery
00189010	CS	1	-	FlowCompensation	Flow Compensation
00189011	CS	1	-	MultipleSpinEcho	Multiple Spin Echo
00189012	CS	1	-	MultiPlanarExcitation	Multi-planar Excitation
00189014	CS	1	-	PhaseContrast	Phase Contrast
00189015	CS	1	-	TimeOfFlightContrast	Time of Flight Contrast
00189016	CS	1	-	Spoiling	Spoiling
00189017	CS	1	-	SteadyStatePulseSequence	Steady State Pulse Sequence
00189018	CS	1	-	EchoPlanarPulseSequence	Echo Planar Pulse Sequence
00189019	FD	1	-	TagAngleFirstAxis	Tag Angle First Axis
00189020	CS	1	-	MagnetizationTransfer	Magnetization Transfer
00189021	CS	1	-	T2Preparation	T2 Preparation
00189022	CS	1	-	BloodSignalNulling	Blood Signal Nulling
00189024	CS	1	-	SaturationRecovery	Saturation Recovery
00189025	CS	1	-	SpectrallySelectedSuppression	Spectrally Selected Suppression
00189026	CS	1	-	SpectrallySelectedExcitation	Spectrally Selected Excitation
00189027	CS	1	-	SpatialPresaturation	Spatial Pre-saturation
00189028	CS	1	-	Tagging	Tagging
00189029	CS	1	-	OversamplingPhase	Oversampling Phase
00189030	FD	1	-	TagSpacingFirstDimension	Tag Spacing First Dimension
00189032	CS	1	-	GeometryOfKSpaceTraversal	Geometry of k-Space Traversal
00189033	CS	1	-	SegmentedKSpaceTraversal	Segmented k-Space Traversal
00189034	CS	1	-	RectilinearPhaseEncodeReordering	Rectilinear Phase Encode Reordering
00189035	FD	1	-	TagThickness	Tag Thickness
00189036	CS	1	-	PartialFourierDirection	Partial Fourier Direction
00189037	CS	1	-	CardiacSynchronizationTechnique	Cardiac Synchronization Technique
00189041	LO	1	-	ReceiveCoilManufacturerName	Receive Coil Manufacturer Name
00189042	SQ	1	-	MRReceiveCoilSequence	MR Receive Coil Sequence
00189043	CS	1	-	ReceiveCoilType	Receive Coil Type
00189044	CS	1	-	QuadratureReceiveCoil	Quadrature Receive Coil
00189045	SQ	1	-	MultiCoilDefinitionSequence	Multi-Coil Definition Sequence
00189046	LO	1	-	MultiCoilConfiguration	Multi-Coil Configuration
00189047	SH	1	-	MultiCoilElementName	Multi-Coil Element Name
00189048	CS	1	-	MultiCoilElementUsed	Multi-Coil Element Used
00189049	SQ	1	-	MRTransmitCoilSequence	MR Transmit Coil Sequence
00189050	LO	1	-	TransmitCoilManufacturerName	Transmit Coil Manufacturer Name
00189051	CS	1	-	TransmitCoilType	Transmit Coil Type
00189052	FD	1-2	-	SpectralWidth	Spectral Width
00189053	FD	1-2	-	ChemicalShiftReference	Chemical Shift Reference
00189054	CS	1	-	VolumeLocalizationTechnique	Volume Localization Technique
00189058	US	1	-	MRAcquisitionFrequencyEncodingSteps	MR Acquisition Frequency Encoding Steps
00189059	CS	1	-	Decoupling	De-coupling
00189060	CS	1-2	-	DecoupledNucleus	De-coupled Nucleus
00189061	FD	1-2	-	DecouplingFrequency	De-coupling Frequency
00189062	CS	1	-	DecouplingMethod	De-coupling Method
00189063	FD	1-2	-	DecouplingChemicalShiftReference	De-coupling Chemical Shift Reference
00189064	CS	1	-	KSpaceFiltering	k-space Filtering
00189065	CS	1-2	-	TimeDomainFiltering	Time Domain Filtering
00189066	US	1-2	-	NumberOfZeroFills	Number of Zero Fills
00189067	CS	1	-	BaselineCorrection	Baseline Correction
00189069	FD	1	-	ParallelReductionFactorInPlane	Parallel Reduction Factor In-plane
00189070	FD	1	-	CardiacRRIntervalSpecified	Cardiac R-R Interval Specified
00189073	FD	1	-	AcquisitionDuration	Acquisition Duration
00189074	DT	1	-	FrameAcquisitionDateTime	Frame Acquisition DateTime
00189075	CS	1	-	DiffusionDirectionality	Diffusion Directionality
00189076	SQ	1	-	DiffusionGradientDirectionSequence	Diffusion Gradient Direction Sequence
00189077	CS	1	-	ParallelAcquisition	Parallel Acquisition
00189078	CS	1	-	ParallelAcquisitionTechnique	Parallel Acquisition Technique
00189079	FD	1-n	-	InversionTimes	Inversion Times
00189080	ST	1	-	MetaboliteMapDescription	Metabolite Map Description
00189081	CS	1	-	PartialFourier	Partial Fourier
00189082	FD	1	-	EffectiveEchoTime	Effective Echo Time
00189083	SQ	1	-	MetaboliteMapCodeSequence	Metabolite Map Code Sequence
00189084	SQ	1	-	ChemicalShiftSequence	Chemical Shift Sequence
00189085	CS	1	-	CardiacSignalSource	Cardiac Signal Source
00189087	FD	1	-	DiffusionBValue	Diffusion b-value
00189089	FD	3	-	DiffusionGradientOrientation	Diffusion Gradient Orientation
00189090	FD	3	-	VelocityEncodingDirection	Velocity Encoding Direction
00189091	FD	1	-	VelocityEncodingMinimumValue	Velocity Encoding Minimum Value
00189092	SQ	1	-	VelocityEncodingAcquisitionSequence	Velocity Encoding Acquisition Sequence
00189093	US	1	-	NumberOfKSpaceTrajectories	Number of k-Space Trajectories
00189094	CS	1	-	CoverageOfKSpace	Coverage of k-Space
00189095	UL	1	-	SpectroscopyAcquisitionPhaseRows	Spectroscopy Acquisition Phase Rows
00189096	FD	1	R	ParallelReductionFactorInPlaneRetired	Parallel Reduction Factor In-plane (Retired)
00189098	FD	1-2	-	TransmitterFrequency	Transmitter Frequency
00189100	CS	1-2	-	ResonantNucleus	Resonant Nucleus
00189101	CS	1	-	FrequencyCorrection	Frequency Correction
00189103	SQ	1	-	MRSpectroscopyFOVGeometrySequence	MR Spectroscopy FOV/Geometry Sequence
00189104	FD	1	-	SlabThickness	Slab Thickness
00189105	FD	3	-	SlabOrientation	Slab Orientation
00189106	FD	3	-	MidSlabPosition	Mid Slab Position
00189107	SQ	1	-	MRSpatialSaturationSequence	MR Spatial Saturation Sequence
00189112	SQ	1	-	MRTimingAndRelatedParametersSequence	MR Timing and Related Parameters Sequence
00189114	SQ	1	-	MREchoSequence	MR Echo Sequence
00189115	SQ	1	-	MRModifierSequence	MR Modifier Sequence
00189117	SQ	1	-	MRDiffusionSequence	MR Diffusion Sequence
00189118	SQ	1	-	CardiacSynchronizationSequence	Cardiac Synchronization Sequence
00189119	SQ	1	-	MRAveragesSequence	MR Averages Sequence
00189125	SQ	1	-	MRFOVGeometrySequence	MR FOV/Geometry Sequence
00189126	SQ	1	-	VolumeLocalizationSequence	Volume Localization Sequence
00189127	UL	1	-	SpectroscopyAcquisitionDataColumns	Spectroscopy Acquisition Data Columns
00189147	CS	1	-	DiffusionAnisotropyType	Diffusion Anisotropy Type
00189151	DT	1	-	FrameReferenceDateTime	Frame Reference DateTime
00189152	SQ	1	-	MRMetaboliteMapSequence	MR Metabolite Map Sequence
00189155	FD	1	-	ParallelReductionFactorOutOfPlane	Parallel Reduction Factor out-of-plane
00189159	UL	1	-	SpectroscopyAcquisitionOutOfPlanePhaseSteps	Spectroscopy Acquisition Out-of-plane Phase Steps
00189166	CS	1	R	BulkMotionStatus	Bulk Motion Status
00189168	FD	1	-	ParallelReductionFactorSecondInPlane	Parallel Reduction Factor Second In-plane
00189169	CS	1	-	CardiacBeatRejectionTechnique	Cardiac Beat Rejection Technique
00189170	CS	1	-	RespiratoryMotionCompensationTechnique	Respiratory Motion Compensation Technique
00189171	CS	1	-	RespiratorySignalSource	Respiratory Signal Source
00189172	CS	1	-	BulkMotionCompensationTechnique	Bulk Motion Compensation Technique
00189173	CS	1	-	BulkMotionSignalSource	Bulk Motion Signal Source
00189174	CS	1	-	ApplicableSafetyStandardAgency	Applicable Safety Standard Agency
00189175	LO	1	-	ApplicableSafetyStandardDescription	Applicable Safety Standard Description
00189176	SQ	1	-	OperatingModeSequence	Operating Mode Sequence
00189177	CS	1	-	OperatingModeType	Operating Mode Type
00189178	CS	1	-	OperatingMode	Operating Mode
00189179	CS	1	-	SpecificAbsorptionRateDefinition	Specific Absorption Rate Definition
00189180	CS	1	-	GradientOutputType	Gradient Output Type
00189181	FD	1	-	SpecificAbsorptionRateValue	Specific Absorption Rate Value
00189182	FD	1	-	GradientOutput	Gradient Output
00189183	CS	1	-	FlowCompensationDirection	Flow Compensation Direction
00189184	FD	1	-	TaggingDelay	Tagging Delay
00189185	ST	1	-	RespiratoryMotionCompensationTechniqueDescription	Respiratory Motion Compensation Technique Description
00189186	SH	1	-	RespiratorySignalSourceID	Respiratory Signal Source ID
00189195	FD	1	R	ChemicalShiftMinimumIntegrationLimitInHz	Chemical Shift Minimum Integration Limit in Hz
00189196	FD	1	R	ChemicalShiftMaximumIntegrationLimitInHz	Chemical Shift Maximum Integration Limit in Hz
00189197	SQ	1	-	MRVelocityEncodingSequence	MR Velocity Encoding Sequence
00189198	CS	1	-	FirstOrderPhaseCorrection	First Order Phase Correction
00189199	CS	1	-	WaterReferencedPhaseCorrection	Water Referenced Phase Correction
00189200	CS	1	-	MRSpectroscopyAcquisitionType	MR Spectroscopy Acquisition Type
00189214	CS	1	-	RespiratoryCyclePosition	Respiratory Cycle Position
00189217	FD	1	-	VelocityEncodingMaximumValue	Velocity Encoding Maximum Value
00189218	FD	1	-	TagSpacingSecondDimension	Tag Spacing Second Dimension
00189219	SS	1	-	TagAngleSecondAxis	Tag Angle Second Axis
00189220	FD	1	-	FrameAcquisitionDuration	Frame Acquisition Duration
00189226	SQ	1	-	MRImageFrameTypeSequence	MR Image Frame Type Sequence
00189227	SQ	1	-	MRSpectroscopyFrameTypeSequence	MR Spectroscopy Frame Type Sequence
00189231	US	1	-	MRAcquisitionPhaseEncodingStepsInPlane	MR Acquisition Phase Encoding Steps in-plane
00189232	US	1	-	MRAcquisitionPhaseEncodingStepsOutOfPlane	MR Acquisition Phase Encoding Steps out-of-plane
00189234	UL	1	-	SpectroscopyAcquisitionPhaseColumns	Spectroscopy Acquisition Phase Columns
00189236	CS	1	-	CardiacCyclePosition	Cardiac Cycle Position
00189239	SQ	1	-	SpecificAbsorptionRateSequence	Specific Absorption Rate Sequence
00189240	US	1	-	RFEchoTrainLength	RF Echo Train Length
00189241	US	1	-	GradientEchoTrainLength	Gradient Echo Train Length
00189250	CS	1	-	ArterialSpinLabelingContrast	Arterial Spin Labeling Contrast
00189251	SQ	1	-	MRArterialSpinLabelingSequence	MR Arterial Spin Labeling Sequence
00189252	LO	1	-	ASLTechniqueDescription	ASL Technique Description
00189253	US	1	-	ASLSlabNumber	ASL Slab Number
00189254	FD	1	-	ASLSlabThickness	ASL Slab Thickness
00189255	FD	3	-	ASLSlabOrientation	ASL Slab Orientation
00189256	FD	3	-	ASLMidSlabPosition	ASL Mid Slab Position
00189257	CS	1	-	ASLContext	ASL Context
00189258	UL	1	-	ASLPulseTrainDuration	ASL Pulse Train Duration
00189259	CS	1	-	ASLCrusherFlag	ASL Crusher Flag
0018925A	FD	1	-	ASLCrusherFlowLimit	ASL Crusher Flow Limit
0018925B	LO	1	-	ASLCrusherDescription	ASL Crusher Description
0018925C	CS	1	-	ASLBolusCutoffFlag	ASL Bolus Cut-off Flag
0018925D	SQ	1	-	ASLBolusCutoffTimingSequence	ASL Bolus Cut-off Timing Sequence
0018925E	LO	1	-	ASLBolusCutoffTechnique	ASL Bolus Cut-off Technique
0018925F	UL	1	-	ASLBolusCutoffDelayTime	ASL Bolus Cut-off Delay Time
00189260	SQ	1	-	ASLSlabSequence	ASL Slab Sequence
00189295	FD	1	-	ChemicalShiftMinimumIntegrationLimitInppm	Chemical Shift Minimum Integration Limit in ppm
00189296	FD	1	-	ChemicalShiftMaximumIntegrationLimitInppm	Chemical Shift Maximum Integration Limit in ppm
00189297	CS	1	-	WaterReferenceAcquisition	Water Reference Acquisition
00189298	IS	1	-	EchoPeakPosition	Echo Peak Position
00189301	SQ	1	-	CTAcquisitionTypeSequence	CT Acquisition Type Sequence
00189302	CS	1	-	AcquisitionType	Acquisition Type
00189303	FD	1	-	TubeAngle	Tube Angle
00189304	SQ	1	-	CTAcquisitionDetailsSequence	CT Acquisition Details Sequence
00189305	FD	1	-	RevolutionTime	Revolution Time
00189306	FD	1	-	SingleCollimationWidth	Single Collimation Width
00189307	FD	1	-	TotalCollimationWidth	Total Collimation Width
00189308	SQ	1	-	CTTableDynamicsSequence	CT Table Dynamics Sequence
00189309	FD	1	-	TableSpeed	Table Speed
00189310	FD	1	-	TableFeedPerRotation	Table Feed per Rotation
00189311	FD	1	-	SpiralPitchFactor	Spiral Pitch Factor
00189312	SQ	1	-	CTGeometrySequence	CT Geometry Sequence
00189313	FD	3	-	DataCollectionCenterPatient	Data Collection Center (Patient)
00189314	SQ	1	-	CTReconstructionSequence	CT Reconstruction Sequence
00189315	CS	1	-	ReconstructionAlgorithm	Reconstruction Algorithm
00189316	CS	1	-	ConvolutionKernelGroup	Convolution Kernel Group
00189317	FD	2	-	ReconstructionFieldOfView	Reconstruction Field of View
00189318	FD	3	-	ReconstructionTargetCenterPatient	Reconstruction Target Center (Patient)
00189319	FD	1	-	ReconstructionAngle	Reconstruction Angle
00189320	SH	1	-	ImageFilter	Image Filter
00189321	SQ	1	-	CTExposureSequence	CT Exposure Sequence
00189322	FD	2	-	ReconstructionPixelSpacing	Reconstruction Pixel Spacing
00189323	CS	1-n	-	ExposureModulationType	Exposure Modulation Type
00189324	FD	1	R	EstimatedDoseSaving	Estimated Dose Saving
00189325	SQ	1	-	CTXRayDetailsSequence	CT X-Ray Details Sequence
00189326	SQ	1	-	CTPositionSequence	CT Position Sequence
00189327	FD	1	-	TablePosition	Table Position
00189328	FD	1	-	ExposureTimeInms	Exposure Time in ms
00189329	SQ	1	-	CTImageFrameTypeSequence	CT Image Frame Type Sequence
00189330	FD	1	-	XRayTubeCurrentInmA	X-Ray Tube Current in mA
00189332	FD	1	-	ExposureInmAs	Exposure in mAs
00189333	CS	1	-	ConstantVolumeFlag	Constant Volume Flag
00189334	CS	1	-	FluoroscopyFlag	Fluoroscopy Flag
00189335	FD	1	-	DistanceSourceToDataCollectionCenter	Distance Source to Data Collection Center
00189337	US	1	-	ContrastBolusAgentNumber	Contrast/Bolus Agent Number
00189338	SQ	1	-	ContrastBolusIngredientCodeSequence	Contrast/Bolus Ingredient Code Sequence
00189340	SQ	1	-	ContrastAdministrationProfileSequence	Contrast Administration Profile Sequence
00189341	SQ	1	-	ContrastBolusUsageSequence	Contrast/Bolus Usage Sequence
00189342	CS	1	-	ContrastBolusAgentAdministered	Contrast/Bolus Agent Administered
00189343	CS	1	-	ContrastBolusAgentDetected	Contrast/Bolus Agent Detected
00189344	CS	1	-	ContrastBolusAgentPhase	Contrast/Bolus Agent Phase
00189345	FD	1	-	CTDIvol	CTDIvol
00189346	SQ	1	-	CTDIPhantomTypeCodeSequence	CTDI Phantom Type Code Sequence
00189351	FL	1	-	CalciumScoringMassFactorPatient	Calcium Scoring Mass Factor Patient
00189352	FL	3	-	CalciumScoringMassFactorDevice	Calcium Scoring Mass Factor Device
00189353	FL	1	-	EnergyWeightingFactor	Energy Weighting Factor
00189360	SQ	1	-	CTAdditionalXRaySourceSequence	CT Additional X-Ray Source Sequence
00189361	CS	1	-	MultienergyCTAcquisition	Multi-energy CT Acquisition
00189362	SQ	1	-	MultienergyCTAcquisitionSequence	Multi-energy CT Acquisition Sequence
00189363	SQ	1	-	MultienergyCTProcessingSequence	Multi-energy CT Processing Sequence
00189364	SQ	1	-	MultienergyCTCharacteristicsSequence	Multi-energy CT Characteristics Sequence
00189365	SQ	1	-	MultienergyCTXRaySourceSequence	Multi-energy CT X-Ray Source Sequence
00189366	US	1	-	XRaySourceIndex	X-Ray Source Index
00189367	UC	1	-	XRaySourceID	X-Ray Source ID
00189368	CS	1	-	MultienergySourceTechnique	Multi-energy Source Technique
00189369	DT	1	-	SourceStartDateTime	Source Start DateTime
0018936A	DT	1	-	SourceEndDateTime	Source End DateTime
0018936B	US	1	-	SwitchingPhaseNumber	Switching Phase Number
0018936C	DS	1	-	SwitchingPhaseNominalDuration	Switching Phase Nominal Duration
0018936D	DS	1	-	SwitchingPhaseTransitionDuration	Switching Phase Transition Duration
0018936E	DS	1	-	EffectiveBinEnergy	Effective Bin Energy
0018936F	SQ	1	-	MultienergyCTXRayDetectorSequence	Multi-energy CT X-Ray Detector Sequence
00189370	US	1	-	XRayDetectorIndex	X-Ray Detector Index
00189371	UC	1	-	XRayDetectorID	X-Ray Detector ID
00189372	CS	1	-	MultienergyDetectorType	Multi-energy Detector Type
00189373	ST	1	-	XRayDetectorLabel	X-Ray Detector Label
00189374	DS	1	-	NominalMaxEnergy	Nominal Max Energy
00189375	DS	1	-	NominalMinEnergy	Nominal Min Energy
00189376	US	1-n	-	ReferencedXRayDetectorIndex	Referenced X-Ray Detector Index
00189377	US	1-n	-	ReferencedXRaySourceIndex	Referenced X-Ray Source Index
00189378	US	1-n	-	ReferencedPathIndex	Referenced Path Index
00189379	SQ	1	-	MultienergyCTPathSequence	Multi-energy CT Path Sequence
0018937A	US	1	-	MultienergyCTPathIndex	Multi-energy CT Path Index
0018937B	UT	1	-	MultienergyAcquisitionDescription	Multi-energy Acquisition Description
0018937C	FD	1	-	MonoenergeticEnergyEquivalent	Monoenergetic Energy Equivalent
0018937D	SQ	1	-	MaterialCodeSequence	Material Code Sequence
0018937E	CS	1	-	DecompositionMethod	Decomposition Method
0018937F	UT	1	-	DecompositionDescription	Decomposition Description
00189380	SQ	1	-	DecompositionAlgorithmIdentificationSequence	Decomposition Algorithm Identification Sequence
00189381	SQ	1	-	DecompositionMaterialSequence	Decomposition Material Sequence
00189382	SQ	1	-	MaterialAttenuationSequence	Material Attenuation Sequence
00189383	DS	1	-	PhotonEnergy	Photon Energy
00189384	DS	1	-	XRayMassAttenuationCoefficient	X-Ray Mass Attenuation Coefficient
00189401	SQ	1	-	ProjectionPixelCalibrationSequence	Projection Pixel Calibration Sequence
00189402	FL	1	-	DistanceSourceToIsocenter	Distance Source to Isocenter
00189403	FL	1	-	DistanceObjectToTableTop	Distance Object to Table Top
00189404	FL	2	-	ObjectPixelSpacingInCenterOfBeam	Object Pixel Spacing in Center of Beam
00189405	SQ	1	-	PositionerPositionSequence	Positioner Position Sequence
00189406	SQ	1	-	TablePositionSequence	Table Position Sequence
00189407	SQ	1	-	CollimatorShapeSequence	Collimator Shape Sequence
00189410	CS	1	-	PlanesInAcquisition	Planes in Acquisition
00189412	SQ	1	-	XAXRFFrameCharacteristicsSequence	XA/XRF Frame Characteristics Sequence
00189417	SQ	1	-	FrameAcquisitionSequence	Frame Acquisition Sequence
00189420	CS	1	-	XRayReceptorType	X-Ray Receptor Type
00189423	LO	1	-	AcquisitionProtocolName	Acquisition Protocol Name
00189424	LT	1	-	AcquisitionProtocolDescription	Acquisition Protocol Description
00189425	CS	1	-	ContrastBolusIngredientOpaque	Contrast/Bolus Ingredient Opaque
00189426	FL	1	-	DistanceReceptorPlaneToDetectorHousing	Distance Receptor Plane to Detector Housing
00189427	CS	1	-	IntensifierActiveShape	Intensifier Active Shape
00189428	FL	1-2	-	IntensifierActiveDimensions	Intensifier Active Dimension(s)
00189429	FL	2	-	PhysicalDetectorSize	Physical Detector Size
00189430	FL	2	-	PositionOfIsocenterProjection	Position of Isocenter Projection
00189432	SQ	1	-	FieldOfViewSequence	Field of View Sequence
00189433	LO	1	-	FieldOfViewDescription	Field of View Description
00189434	SQ	1	-	ExposureControlSensingRegionsSequence	Exposure Control Sensing Regions Sequence
00189435	CS	1	-	ExposureControlSensingRegionShape	Exposure Control Sensing Region Shape
00189436	SS	1	-	ExposureControlSensingRegionLeftVerticalEdge	Exposure Control Sensing Region Left Vertical Edge
00189437	SS	1	-	ExposureControlSensingRegionRightVerticalEdge	Exposure Control Sensing Region Right Vertical Edge
00189438	SS	1	-	ExposureControlSensingRegionUpperHorizontalEdge	Exposure Control Sensing Region Upper Horizontal Edge
00189439	SS	1	-	ExposureControlSensingRegionLowerHorizontalEdge	Exposure Control Sensing Region Lower Horizontal Edge
00189440	SS	2	-	CenterOfCircularExposureControlSensingRegion	Center of Circular Exposure Control Sensing Region
00189441	US	1	-	RadiusOfCircularExposureControlSensingRegion	Radius of Circular Exposure Control Sensing Region
00189442	SS	2-n	-	VerticesOfThePolygonalExposureControlSensingRegion	Vertices of the Polygonal Exposure Control Sensing Region
00189445	OB	1	R		Retired-blank
00189447	FL	1	-	ColumnAngulationPatient	Column Angulation (Patient)
00189449	FL	1	-	BeamAngle	Beam Angle
00189451	SQ	1	-	FrameDetectorParametersSequence	Frame Detector Parameters Sequence
00189452	FL	1	-	CalculatedAnatomyThickness	Calculated Anatomy Thickness
00189455	SQ	1	-	CalibrationSequence	Calibration Sequence
00189456	SQ	1	-	ObjectThicknessSequence	Object Thickness Sequence
00189457	CS	1	-	PlaneIdentification	Plane Identification
00189461	FL	1-2	-	FieldOfViewDimensionsInFloat	Field of View Dimension(s) in Float
00189462	SQ	1	-	IsocenterReferenceSystemSequence	Isocenter Reference System Sequence
00189463	FL	1	-	PositionerIsocenterPrimaryAngle	Positioner Isocenter Primary Angle
00189464	FL	1	-	PositionerIsocenterSecondaryAngle	Positioner Isocenter Secondary Angle
00189465	FL	1	-	PositionerIsocenterDetectorRotationAngle	Positioner Isocenter Detector Rotation Angle
00189466	FL	1	-	TableXPositionToIsocenter	Table X Position to Isocenter
00189467	FL	1	-	TableYPositionToIsocenter	Table Y Position to Isocenter
00189468	FL	1	-	TableZPositionToIsocenter	Table Z Position to Isocenter
00189469	FL	1	-	TableHorizontalRotationAngle	Table Horizontal Rotation Angle
00189470	FL	1	-	TableHeadTiltAngle	Table Head Tilt Angle
00189471	FL	1	-	TableCradleTiltAngle	Table Cradle Tilt Angle
00189472	SQ	1	-	FrameDisplayShutterSequence	Frame Display Shutter Sequence
00189473	FL	1	-	AcquiredImageAreaDoseProduct	Acquired Image Area Dose Product
00189474	CS	1	-	CArmPositionerTabletopRelationship	C-arm Positioner Tabletop Relationship
00189476	SQ	1	-	XRayGeometrySequence	X-Ray Geometry Sequence
00189477	SQ	1	-	IrradiationEventIdentificationSequence	Irradiation Event Identification Sequence
00189504	SQ	1	-	XRay3DFrameTypeSequence	X-Ray 3D Frame Type Sequence
00189506	SQ	1	-	ContributingSourcesSequence	Contributing Sources Sequence
00189507	SQ	1	-	XRay3DAcquisitionSequence	X-Ray 3D Acquisition Sequence
00189508	FL	1	-	PrimaryPositionerScanArc	Primary Positioner Scan Arc
00189509	FL	1	-	SecondaryPositionerScanArc	Secondary Positioner Scan Arc
00189510	FL	1	-	PrimaryPositionerScanStartAngle	Primary Positioner Scan Start Angle
00189511	FL	1	-	SecondaryPositionerScanStartAngle	Secondary Positioner Scan Start Angle
00189514	FL	1	-	PrimaryPositionerIncrement	Primary Positioner Increment
00189515	FL	1	-	SecondaryPositionerIncrement	Secondary Positioner Increment
00189516	DT	1	-	StartAcquisitionDateTime	Start Acquisition DateTime
00189517	DT	1	-	EndAcquisitionDateTime	End Acquisition DateTime
00189518	SS	1	-	PrimaryPositionerIncrementSign	Primary Positioner Increment Sign
00189519	SS	1	-	SecondaryPositionerIncrementSign	Secondary Positioner Increment Sign
00189524	LO	1	-	ApplicationName	Application Name
00189525	LO	1	-	ApplicationVersion	Application Version
00189526	LO	1	-	ApplicationManufacturer	Application Manufacturer
00189527	CS	1	-	AlgorithmType	Algorithm Type
00189528	LO	1	-	AlgorithmDescription	Algorithm Description
00189530	SQ	1	-	XRay3DReconstructionSequence	X-Ray 3D Reconstruction Sequence
00189531	LO	1	-	ReconstructionDescription	Reconstruction Description
00189538	SQ	1	-	PerProjectionAcquisitionSequence	Per Projection Acquisition Sequence
00189541	SQ	1	-	DetectorPositionSequence	Detector Position Sequence
00189542	SQ	1	-	XRayAcquisitionDoseSequence	X-Ray Acquisition Dose Sequence
00189543	FD	1	-	XRaySourceIsocenterPrimaryAngle	X-Ray Source Isocenter Primary Angle
00189544	FD	1	-	XRaySourceIsocenterSecondaryAngle	X-Ray Source Isocenter Secondary Angle
00189545	FD	1	-	BreastSupportIsocenterPrimaryAngle	Breast Support Isocenter Primary Angle
00189546	FD	1	-	BreastSupportIsocenterSecondaryAngle	Breast Support Isocenter Secondary Angle
00189547	FD	1	-	BreastSupportXPositionToIsocenter	Breast Support X Position to Isocenter
00189548	FD	1	-	BreastSupportYPositionToIsocenter	Breast Support Y Position to Isocenter
00189549	FD	1	-	BreastSupportZPositionToIsocenter	Breast Support Z Position to Isocenter
00189550	FD	1	-	DetectorIsocenterPrimaryAngle	Detector Isocenter Primary Angle
00189551	FD	1	-	DetectorIsocenterSecondaryAngle	Detector Isocenter Secondary Angle
00189552	FD	1	-	DetectorXPositionToIsocenter	Detector X Position to Isocenter
00189553	FD	1	-	DetectorYPositionToIsocenter	Detector Y Position to Isocenter
00189554	FD	1	-	DetectorZPositionToIsocenter	Detector Z Position to Isocenter
00189555	SQ	1	-	XRayGridSequence	X-Ray Grid Sequence
00189556	SQ	1	-	XRayFilterSequence	X-Ray Filter Sequence
00189557	FD	3	-	DetectorActiveAreaTLHCPosition	Detector Active Area TLHC Position
00189558	FD	6	-	DetectorActiveAreaOrientation	Detector Active Area Orientation
00189559	CS	1	-	PositionerPrimaryAngleDirection	Positioner Primary Angle Direction
00189601	SQ	1	-	DiffusionBMatrixSequence	Diffusion b-matrix Sequence
00189602	FD	1	-	DiffusionBValueXX	Diffusion b-value XX
00189603	FD	1	-	DiffusionBValueXY	Diffusion b-value XY
00189604	FD	1	-	DiffusionBValueXZ	Diffusion b-value XZ
00189605	FD	1	-	DiffusionBValueYY	Diffusion b-value YY
00189606	FD	1	-	DiffusionBValueYZ	Diffusion b-value YZ
00189607	FD	1	-	DiffusionBValueZZ	Diffusion b-value ZZ
00189621	SQ	1	-	FunctionalMRSequence	Functional MR Sequence
00189622	CS	1	-	FunctionalSettlingPhaseFramesPresent	Functional Settling Phase Frames Present
00189623	DT	1	-	FunctionalSyncPulse	Functional Sync Pulse
00189624	CS	1	-	SettlingPhaseFrame	Settling Phase Frame
00189701	DT	1	-	DecayCorrectionDateTime	Decay Correction DateTime
00189715	FD	1	-	StartDensityThreshold	Start Density Threshold
00189716	FD	1	-	StartRelativeDensityDifferenceThreshold	Start Relative Density Difference Threshold
00189717	FD	1	-	StartCardiacTriggerCountThreshold	Start Cardiac Trigger Count Threshold
00189718	FD	1	-	StartRespiratoryTriggerCountThreshold	Start Respiratory Trigger Count Threshold
00189719	FD	1	-	TerminationCountsThreshold	Termination Counts Threshold
00189720	FD	1	-	TerminationDensityThreshold	Termination Density Threshold
00189721	FD	1	-	TerminationRelativeDensityThreshold	Termination Relative Density Threshold
00189722	FD	1	-	TerminationTimeThreshold	Termination Time Threshold
00189723	FD	1	-	TerminationCardiacTriggerCountThreshold	Termination Cardiac Trigger Count Threshold
00189724	FD	1	-	TerminationRespiratoryTriggerCountThreshold	Termination Respiratory Trigger Count Threshold
00189725	CS	1	-	DetectorGeometry	Detector Geometry
00189726	FD	1	-	TransverseDetectorSeparation	Transverse Detector Separation
00189727	FD	1	-	AxialDetectorDimension	Axial Detector Dimension
00189729	US	1	-	RadiopharmaceuticalAgentNumber	Radiopharmaceutical Agent Number
00189732	SQ	1	-	PETFrameAcquisitionSequence	PET Frame Acquisition Sequence
00189733	SQ	1	-	PETDetectorMotionDetailsSequence	PET Detector Motion Details Sequence
00189734	SQ	1	-	PETTableDynamicsSequence	PET Table Dynamics Sequence
00189735	SQ	1	-	PETPositionSequence	PET Position Sequence
00189736	SQ	1	-	PETFrameCorrectionFactorsSequence	PET Frame Correction Factors Sequence
00189737	SQ	1	-	RadiopharmaceuticalUsageSequence	Radiopharmaceutical Usage Sequence
00189738	CS	1	-	AttenuationCorrectionSource	Attenuation Correction Source
00189739	US	1	-	NumberOfIterations	Number of Iterations
00189740	US	1	-	NumberOfSubsets	Number of Subsets
00189749	SQ	1	-	PETReconstructionSequence	PET Reconstruction Sequence
00189751	SQ	1	-	PETFrameTypeSequence	PET Frame Type Sequence
00189755	CS	1	-	TimeOfFlightInformationUsed	Time of Flight Information Used
00189756	CS	1	-	ReconstructionType	Reconstruction Type
00189758	CS	1	-	DecayCorrected	Decay Corrected
00189759	CS	1	-	AttenuationCorrected	Attenuation Corrected
00189760	CS	1	-	ScatterCorrected	Scatter Corrected
00189761	CS	1	-	DeadTimeCorrected	Dead Time Corrected
00189762	CS	1	-	GantryMotionCorrected	Gantry Motion Corrected
00189763	CS	1	-	PatientMotionCorrected	Patient Motion Corrected
00189764	CS	1	-	CountLossNormalizationCorrected	Count Loss Normalization Corrected
00189765	CS	1	-	RandomsCorrected	Randoms Corrected
00189766	CS	1	-	NonUniformRadialSamplingCorrected	Non-uniform Radial Sampling Corrected
00189767	CS	1	-	SensitivityCalibrated	Sensitivity Calibrated
00189768	CS	1	-	DetectorNormalizationCorrection	Detector Normalization Correction
00189769	CS	1	-	IterativeReconstructionMethod	Iterative Reconstruction Method
00189770	CS	1	-	AttenuationCorrectionTemporalRelationship	Attenuation Correction Temporal Relationship
00189771	SQ	1	-	PatientPhysiologicalStateSequence	Patient Physiological State Sequence
00189772	SQ	1	-	PatientPhysiologicalStateCodeSequence	Patient Physiological State Code Sequence
00189801	FD	1-n	-	DepthsOfFocus	Depth(s) of Focus
00189803	SQ	1	-	ExcludedIntervalsSequence	Excluded Intervals Sequence
00189804	DT	1	-	ExclusionStartDateTime	Exclusion Start DateTime
00189805	FD	1	-	ExclusionDuration	Exclusion Duration
00189806	SQ	1	-	USImageDescriptionSequence	US Image Description Sequence
00189807	SQ	1	-	ImageDataTypeSequence	Image Data Type Sequence
00189808	CS	1	-	DataType	Data Type
00189809	SQ	1	-	TransducerScanPatternCodeSequence	Transducer Scan Pattern Code Sequence
0018980B	CS	1	-	AliasedDataType	Aliased Data Type
0018980C	CS	1	-	PositionMeasuringDeviceUsed	Position Measuring Device Used
0018980D	SQ	1	-	TransducerGeometryCodeSequence	Transducer Geometry Code Sequence
0018980E	SQ	1	-	TransducerBeamSteeringCodeSequence	Transducer Beam Steering Code Sequence
0018980F	SQ	1	-	TransducerApplicationCodeSequence	Transducer Application Code Sequence
00189810	US/SS	1	-	ZeroVelocityPixelValue	Zero Velocity Pixel Value
00189821	SQ	1	-	PhotoacousticExcitationCharacteristicsSequence	Photoacoustic Excitation Characteristics Sequence
00189822	FD	1	-	ExcitationSpectralWidth	Excitation Spectral Width
00189823	FD	1	-	ExcitationEnergy	Excitation Energy
00189824	FD	1	-	ExcitationPulseDuration	Excitation Pulse Duration
00189825	SQ	1	-	ExcitationWavelengthSequence	Excitation Wavelength Sequence
00189826	FD	1	-	ExcitationWavelength	Excitation Wavelength
00189828	CS	1	-	IlluminationTranslationFlag	Illumination Translation Flag
00189829	CS	1	-	AcousticCouplingMediumFlag	Acoustic Coupling Medium Flag
0018982A	SQ	1	-	AcousticCouplingMediumCodeSequence	Acoustic Coupling Medium Code Sequence
0018982B	FD	1	-	AcousticCouplingMediumTemperature	Acoustic Coupling Medium Temperature
0018982C	SQ	1	-	TransducerResponseSequence	Transducer Response Sequence
0018982D	FD	1	-	CenterFrequency	Center Frequency
0018982E	FD	1	-	FractionalBandwidth	Fractional Bandwidth
0018982F	FD	1	-	LowerCutoffFrequency	Lower Cutoff Frequency
00189830	FD	1	-	UpperCutoffFrequency	Upper Cutoff Frequency
00189831	SQ	1	-	TransducerTechnologySequence	Transducer Technology Sequence
00189832	SQ	1	-	SoundSpeedCorrectionMechanismCodeSequence	Sound Speed Correction Mechanism Code Sequence
00189833	FD	1	-	ObjectSoundSpeed	Object Sound Speed
00189834	FD	1	-	AcousticCouplingMediumSoundSpeed	Acoustic Coupling Medium Sound Speed
00189835	SQ	1	-	PhotoacousticImageFrameTypeSequence	Photoacoustic Image Frame Type Sequence
00189836	SQ	1	-	ImageDataTypeCodeSequence	Image Data Type Code Sequence
00189900	LO	1	-	ReferenceLocationLabel	Reference Location Label
00189901	UT	1	-	ReferenceLocationDescription	Reference Location Description
00189902	SQ	1	-	ReferenceBasisCodeSequence	Reference Basis Code Sequence
00189903	SQ	1	-	ReferenceGeometryCodeSequence	Reference Geometry Code Sequence
00189904	DS	1	-	OffsetDistance	Offset Distance
00189905	CS	1	-	OffsetDirection	Offset Direction
00189906	SQ	1	-	PotentialScheduledProtocolCodeSequence	Potential Scheduled Protocol Code Sequence
00189907	SQ	1	-	PotentialRequestedProcedureCodeSequence	Potential Requested Procedure Code Sequence
00189908	UC	1-n	-	PotentialReasonsForProcedure	Potential Reasons for Procedure
00189909	SQ	1	-	PotentialReasonsForProcedureCodeSequence	Potential Reasons for Procedure Code Sequence
0018990A	UC	1-n	-	PotentialDiagnosticTasks	Potential Diagnostic Tasks
0018990B	SQ	1	-	ContraindicationsCodeSequence	Contraindications Code Sequence
0018990C	SQ	1	-	ReferencedDefinedProtocolSequence	Referenced Defined Protocol Sequence
0018990D	SQ	1	-	ReferencedPerformedProtocolSequence	Referenced Performed Protocol Sequence
0018990E	SQ	1	-	PredecessorProtocolSequence	Predecessor Protocol Sequence
0018990F	UT	1	-	ProtocolPlanningInformation	Protocol Planning Information
00189910	UT	1	-	ProtocolDesignRationale	Protocol Design Rationale
00189911	SQ	1	-	PatientSpecificationSequence	Patient Specification Sequence
00189912	SQ	1	-	ModelSpecificationSequence	Model Specification Sequence
00189913	SQ	1	-	ParametersSpecificationSequence	Parameters Specification Sequence
00189914	SQ	1	-	InstructionSequence	Instruction Sequence
00189915	US	1	-	InstructionIndex	Instruction Index
00189916	LO	1	-	InstructionText	Instruction Text
00189917	UT	1	-	InstructionDescription	Instruction Description
00189918	CS	1	-	InstructionPerformedFlag	Instruction Performed Flag
00189919	DT	1	-	InstructionPerformedDateTime	Instruction Performed DateTime
0018991A	UT	1	-	InstructionPerformanceComment	Instruction Performance Comment
0018991B	SQ	1	-	PatientPositioningInstructionSequence	Patient Positioning Instruction Sequence
0018991C	SQ	1	-	PositioningMethodCodeSequence	Positioning Method Code Sequence
0018991D	SQ	1	-	PositioningLandmarkSequence	Positioning Landmark Sequence
0018991E	UI	1	-	TargetFrameOfReferenceUID	Target Frame of Reference UID
0018991F	SQ	1	-	AcquisitionProtocolElementSpecificationSequence	Acquisition Protocol Element Specification Sequence
00189920	SQ	1	-	AcquisitionProtocolElementSequence	Acquisition Protocol Element Sequence
00189921	US	1	-	ProtocolElementNumber	Protocol Element Number
00189922	LO	1	-	ProtocolElementName	Protocol Element Name
00189923	UT	1	-	ProtocolElementCharacteristicsSummary	Protocol Element Characteristics Summary
00189924	UT	1	-	ProtocolElementPurpose	Protocol Element Purpose
00189930	CS	1	-	AcquisitionMotion	Acquisition Motion
00189931	SQ	1	-	AcquisitionStartLocationSequence	Acquisition Start Location Sequence
00189932	SQ	1	-	AcquisitionEndLocationSequence	Acquisition End Location Sequence
00189933	SQ	1	-	ReconstructionProtocolElementSpecificationSequence	Reconstruction Protocol Element Specification Sequence
00189934	SQ	1	-	ReconstructionProtocolElementSequence	Reconstruction Protocol Element Sequence
00189935	SQ	1	-	StorageProtocolElementSpecificationSequence	Storage Protocol Element Specification Sequence
00189936	SQ	1	-	StorageProtocolElementSequence	Storage Protocol Element Sequence
00189937	LO	1	-	RequestedSeriesDescription	Requested Series Description
00189938	US	1-n	-	SourceAcquisitionProtocolElementNumber	Source Acquisition Protocol Element Number
00189939	US	1-n	-	SourceAcquisitionBeamNumber	Source Acquisition Beam Number
0018993A	US	1-n	-	SourceReconstructionProtocolElementNumber	Source Reconstruction Protocol Element Number
0018993B	SQ	1	-	ReconstructionStartLocationSequence	Reconstruction Start Location Sequence
0018993C	SQ	1	-	ReconstructionEndLocationSequence	Reconstruction End Location Sequence
0018993D	SQ	1	-	ReconstructionAlgorithmSequence	Reconstruction Algorithm Sequence
0018993E	SQ	1	-	ReconstructionTargetCenterLocationSequence	Reconstruction Target Center Location Sequence
00189941	UT	1	-	ImageFilterDescription	Image Filter Description
00189942	FD	1	-	CTDIvolNotificationTrigger	CTDIvol Notification Trigger
00189943	FD	1	-	DLPNotificationTrigger	DLP Notification Trigger
00189944	CS	1	-	AutoKVPSelectionType	Auto KVP Selection Type
00189945	FD	1	-	AutoKVPUpperBound	Auto KVP Upper Bound
00189946	FD	1	-	AutoKVPLowerBound	Auto KVP Lower Bound
00189947	CS	1	-	ProtocolDefinedPatientPosition	Protocol Defined Patient Position
0018A001	SQ	1	-	ContributingEquipmentSequence	Contributing Equipment Sequence
0018A002	DT	1	-	ContributionDateTime	Contribution DateTime
0018A003	ST	1	-	ContributionDescription	Contribution Description
0020000D	UI	1	-	StudyInstanceUID	Study Instance UID
0020000E	UI	1	-	SeriesInstanceUID	Series Instance UID
00200010	SH	1	-	StudyID	Study ID
00200011	IS	1	-	SeriesNumber	Series Number
00200012	IS	1	-	AcquisitionNumber	Acquisition Number
00200013	IS	1	-	InstanceNumber	Instance Number
00200014	IS	1	R	IsotopeNumber	Isotope Number
00200015	IS	1	R	PhaseNumber	Phase Number
00200016	IS	1	R	IntervalNumber	Interval Number
00200017	IS	1	R	TimeSlotNumber	Time Slot Number
00200018	IS	1	R	AngleNumber	Angle Number
00200019	IS	1	-	ItemNumber	Item Number
00200020	CS	2	-	PatientOrientation	Patient Orientation
00200022	IS	1	R	OverlayNumber	Overlay Number
00200024	IS	1	R	CurveNumber	Curve Number
00200026	IS	1	R	LUTNumber	LUT Number
00200027	LO	1	-	PyramidLabel	Pyramid Label
00200030	DS	3	R	ImagePosition	Image Position
00200032	DS	3	-	ImagePositionPatient	Image Position (Patient)
00200035	DS	6	R	ImageOrientation	Image Orientation
00200037	DS	6	-	ImageOrientationPatient	Image Orientation (Patient)
00200050	DS	1	R	Location	Location
00200052	UI	1	-	FrameOfReferenceUID	Frame of Reference UID
00200060	CS	1	-	Laterality	Laterality
00200062	CS	1	-	ImageLaterality	Image Laterality
00200070	LO	1	R	ImageGeometryType	Image Geometry Type
00200080	CS	1-n	R	MaskingImage	Masking Image
002000AA	IS	1	R	ReportNumber	Report Number
00200100	IS	1	-	TemporalPositionIdentifier	Temporal Position Identifier
00200105	IS	1	-	NumberOfTemporalPositions	Number of Temporal Positions
00200110	DS	1	-	TemporalResolution	Temporal Resolution
00200200	UI	1	-	SynchronizationFrameOfReferenceUID	Synchronization Frame of Reference UID
00200242	UI	1	-	SOPInstanceUIDOfConcatenationSource	SOP Instance UID of Concatenation Source
00201000	IS	1	R	SeriesInStudy	Series in Study
00201001	IS	1	R	AcquisitionsInSeries	Acquisitions in Series
00201002	IS	1	-	ImagesInAcquisition	Images in Acquisition
00201003	IS	1	R	ImagesInSeries	Images in Series
00201004	IS	1	R	AcquisitionsInStudy	Acquisitions in Study
00201005	IS	1	R	ImagesInStudy	Images in Study
00201020	LO	1-n	R	Reference	Reference
0020103F	LO	1	-	TargetPositionReferenceIndicator	Target Position Reference Indicator
00201040	LO	1	-	PositionReferenceIndicator	Position Reference Indicator
00201041	DS	1	-	SliceLocation	Slice Location
00201070	IS	1-n	R	OtherStudyNumbers	Other Study Numbers
00201200	IS	1	-	NumberOfPatientRelatedStudies	Number of Patient Related Studies
00201202	IS	1	-	NumberOfPatientRelatedSeries	Number of Patient Related Series
00201204	IS	1	-	NumberOfPatientRelatedInstances	Number of Patient Related Instances
00201206	IS	1	-	NumberOfStudyRelatedSeries	Number of Study Related Series
00201208	IS	1	-	NumberOfStudyRelatedInstances	Number of Study Related Instances
00201209	IS	1	-	NumberOfSeriesRelatedInstances	Number of Series Related Instances
00203401	CS	1	R	ModifyingDeviceID	Modifying Device ID
00203402	CS	1	R	ModifiedImageID	Modified Image ID
00203403	DA	1	R	ModifiedImageDate	Modified Image Date
00203404	LO	1	R	ModifyingDeviceManufacturer	Modifying Device Manufacturer
00203405	TM	1	R	ModifiedImageTime	Modified Image Time
00203406	LO	1	R	ModifiedImageDescription	Modified Image Description
00204000	LT	1	-	ImageComments	Image Comments
00205000	AT	1-n	R	OriginalImageIdentification	Original Image Identification
00205002	LO	1-n	R	OriginalImageIdentificationNomenclature	Original Image Identification Nomenclature
00209056	SH	1	-	StackID	Stack ID
00209057	UL	1	-	InStackPositionNumber	In-Stack Position Number
00209071	SQ	1	-	FrameAnatomySequence	Frame Anatomy Sequence
00209072	CS	1	-	FrameLaterality	Frame Laterality
00209111	SQ	1	-	FrameContentSequence	Frame Content Sequence
00209113	SQ	1	-	PlanePositionSequence	Plane Position Sequence
00209116	SQ	1	-	PlaneOrientationSequence	Plane Orientation Sequence
00209128	UL	1	-	TemporalPositionIndex	Temporal Position Index
00209153	FD	1	-	NominalCardiacTriggerDelayTime	Nominal Cardiac Trigger Delay Time
00209154	FL	1	-	NominalCardiacTriggerTimePriorToRPeak	Nominal Cardiac Trigger Time Prior To R-Peak
00209155	FL	1	-	ActualCardiacTriggerTimePriorToRPeak	Actual Cardiac Trigger Time Prior To R-Peak
00209156	US	1	-	FrameAcquisitionNumber	Frame Acquisition Number
00209157	UL	1-n	-	DimensionIndexValues	Dimension Index Values
00209158	LT	1	-	FrameComments	Frame Comments
00209161	UI	1	-	ConcatenationUID	Concatenation UID
00209162	US	1	-	InConcatenationNumber	In-concatenation Number
00209163	US	1	-	InConcatenationTotalNumber	In-concatenation Total Number
00209164	UI	1	-	DimensionOrganizationUID	Dimension Organization UID
00209165	AT	1	-	DimensionIndexPointer	Dimension Index Pointer
00209167	AT	1	-	FunctionalGroupPointer	Functional Group Pointer
00209170	SQ	1	-	UnassignedSharedConvertedAttributesSequence	Unassigned Shared Converted Attributes Sequence
00209171	SQ	1	-	UnassignedPerFrameConvertedAttributesSequence	Unassigned Per-Frame Converted Attributes Sequence
00209172	SQ	1	-	ConversionSourceAttributesSequence	Conversion Source Attributes Sequence
00209213	LO	1	-	DimensionIndexPrivateCreator	Dimension Index Private Creator
00209221	SQ	1	-	DimensionOrganizationSequence	Dimension Organization Sequence
00209222	SQ	1	-	DimensionIndexSequence	Dimension Index Sequence
00209228	UL	1	-	ConcatenationFrameOffsetNumber	Concatenation Frame Offset Number
00209238	LO	1	-	FunctionalGroupPrivateCreator	Functional Group Private Creator
00209241	FL	1	-	NominalPercentageOfCardiacPhase	Nominal Percentage of Cardiac Phase
00209245	FL	1	-	NominalPercentageOfRespiratoryPhase	Nominal Percentage of Respiratory Phase
00209246	FL	1	-	StartingRespiratoryAmplitude	Starting Respiratory Amplitude
00209247	CS	1	-	StartingRespiratoryPhase	Starting Respiratory Phase
00209248	FL	1	-	EndingRespiratoryAmplitude	Ending Respiratory Amplitude
00209249	CS	1	-	EndingRespiratoryPhase	Ending Respiratory Phase
00209250	CS	1	-	RespiratoryTriggerType	Respiratory Trigger Type
00209251	FD	1	-	RRIntervalTimeNominal	R-R Interval Time Nominal
00209252	FD	1	-	ActualCardiacTriggerDelayTime	Actual Cardiac Trigger Delay Time
00209253	SQ	1	-	RespiratorySynchronizationSequence	Respiratory Synchronization Sequence
00209254	FD	1	-	RespiratoryIntervalTime	Respiratory Interval Time
00209255	FD	1	-	NominalRespiratoryTriggerDelayTime	Nominal Respiratory Trigger Delay Time
00209256	FD	1	-	RespiratoryTriggerDelayThreshold	Respiratory Trigger Delay Threshold
00209257	FD	1	-	ActualRespiratoryTriggerDelayTime	Actual Respiratory Trigger Delay Time
00209301	FD	3	-	ImagePositionVolume	Image Position (Volume)
00209302	FD	6	-	ImageOrientationVolume	Image Orientation (Volume)
00209307	CS	1	-	UltrasoundAcquisitionGeometry	Ultrasound Acquisition Geometry
00209308	FD	3	-	ApexPosition	Apex Position
00209309	FD	16	-	VolumeToTransducerMappingMatrix	Volume to Transducer Mapping Matrix
0020930A	FD	16	-	VolumeToTableMappingMatrix	Volume to Table Mapping Matrix
0020930B	CS	1	-	VolumeToTransducerRelationship	Volume to Transducer Relationship
0020930C	CS	1	-	PatientFrameOfReferenceSource	Patient Frame of Reference Source
0020930D	FD	1	-	TemporalPositionTimeOffset	Temporal Position Time Offset
0020930E	SQ	1	-	PlanePositionVolumeSequence	Plane Position (Volume) Sequence
0020930F	SQ	1	-	PlaneOrientationVolumeSequence	Plane Orientation (Volume) Sequence
00209310	SQ	1	-	TemporalPositionSequence	Temporal Position Sequence
00209311	CS	1	-	DimensionOrganizationType	Dimension Organization Type
00209312	UI	1	-	VolumeFrameOfReferenceUID	Volume Frame of Reference UID
00209313	UI	1	-	TableFrameOfReferenceUID	Table Frame of Reference UID
00209421	LO	1	-	DimensionDescriptionLabel	Dimension Description Label
00209450	SQ	1	-	PatientOrientationInFrameSequence	Patient Orientation in Frame Sequence
00209453	LO	1	-	FrameLabel	Frame Label
00209518	US	1-n	-	AcquisitionIndex	Acquisition Index
00209529	SQ	1	-	ContributingSOPInstancesReferenceSequence	Contributing SOP Instances Reference Sequence
00209536	US	1	-	ReconstructionIndex	Reconstruction Index
00220001	US	1	-	LightPathFilterPassThroughWavelength	Light Path Filter Pass-Through Wavelength
00220002	US	2	-	LightPathFilterPassBand	Light Path Filter Pass Band
00220003	US	1	-	ImagePathFilterPassThroughWavelength	Image Path Filter Pass-Through Wavelength
00220004	US	2	-	ImagePathFilterPassBand	Image Path Filter Pass Band
00220005	CS	1	-	PatientEyeMovementCommanded	Patient Eye Movement Commanded
00220006	SQ	1	-	PatientEyeMovementCommandCodeSequence	Patient Eye Movement Command Code Sequence
00220007	FL	1	-	SphericalLensPower	Spherical Lens Power
00220008	FL	1	-	CylinderLensPower	Cylinder Lens Power
00220009	FL	1	-	CylinderAxis	Cylinder Axis
0022000A	FL	1	-	EmmetropicMagnification	Emmetropic Magnification
0022000B	FL	1	-	IntraOcularPressure	Intra Ocular Pressure
0022000C	FL	1	-	HorizontalFieldOfView	Horizontal Field of View
0022000D	CS	1	-	PupilDilated	Pupil Dilated
0022000E	FL	1	-	DegreeOfDilation	Degree of Dilation
0022000F	FD	1	-	VertexDistance	Vertex Distance
00220010	FL	1	-	StereoBaselineAngle	Stereo Baseline Angle
00220011	FL	1	-	StereoBaselineDisplacement	Stereo Baseline Displacement
00220012	FL	1	-	StereoHorizontalPixelOffset	Stereo Horizontal Pixel Offset
00220013	FL	1	-	StereoVerticalPixelOffset	Stereo Vertical Pixel Offset
00220014	FL	1	-	StereoRotation	Stereo Rotation
00220015	SQ	1	-	AcquisitionDeviceTypeCodeSequence	Acquisition Device Type Code Sequence
00220016	SQ	1	-	IlluminationTypeCodeSequence	Illumination Type Code Sequence
00220017	SQ	1	-	LightPathFilterTypeStackCodeSequence	Light Path Filter Type Stack Code Sequence
00220018	SQ	1	-	ImagePathFilterTypeStackCodeSequence	Image Path Filter Type Stack Code Sequence
00220019	SQ	1	-	LensesCodeSequence	Lenses Code Sequence
0022001A	SQ	1	-	ChannelDescriptionCodeSequence	Channel Description Code Sequence
0022001B	SQ	1	-	RefractiveStateSequence	Refractive State Sequence
0022001C	SQ	1	-	MydriaticAgentCodeSequence	Mydriatic Agent Code Sequence
0022001D	SQ	1	-	RelativeImagePositionCodeSequence	Relative Image Position Code Sequence
0022001E	FL	1	-	CameraAngleOfView	Camera Angle of View
00220020	SQ	1	-	StereoPairsSequence	Stereo Pairs Sequence
00220021	SQ	1	-	LeftImageSequence	Left Image Sequence
00220022	SQ	1	-	RightImageSequence	Right Image Sequence
00220028	CS	1	-	StereoPairsPresent	Stereo Pairs Present
00220030	FL	1	-	AxialLengthOfTheEye	Axial Length of the Eye
00220031	SQ	1	-	OphthalmicFrameLocationSequence	Ophthalmic Frame Location Sequence
00220032	FL	2-2n	-	ReferenceCoordinates	Reference Coordinates
00220035	FL	1	-	DepthSpatialResolution	Depth Spatial Resolution
00220036	FL	1	-	MaximumDepthDistortion	Maximum Depth Distortion
00220037	FL	1	-	AlongScanSpatialResolution	Along-scan Spatial Resolution
00220038	FL	1	-	MaximumAlongScanDistortion	Maximum Along-scan Distortion
00220039	CS	1	-	OphthalmicImageOrientation	Ophthalmic Image Orientation
00220041	FL	1	-	DepthOfTransverseImage	Depth of Transverse Image
00220042	SQ	1	-	MydriaticAgentConcentrationUnitsSequence	Mydriatic Agent Concentration Units Sequence
00220048	FL	1	-	AcrossScanSpatialResolution	Across-scan Spatial Resolution
00220049	FL	1	-	MaximumAcrossScanDistortion	Maximum Across-scan Distortion
0022004E	DS	1	-	MydriaticAgentConcentration	Mydriatic Agent Concentration
00220055	FL	1	-	IlluminationWaveLength	Illumination Wave Length
00220056	FL	1	-	IlluminationPower	Illumination Power
00220057	FL	1	-	IlluminationBandwidth	Illumination Bandwidth
00220058	SQ	1	-	MydriaticAgentSequence	Mydriatic Agent Sequence
00221007	SQ	1	-	OphthalmicAxialMeasurementsRightEyeSequence	Ophthalmic Axial Measurements Right Eye Sequence
00221008	SQ	1	-	OphthalmicAxialMeasurementsLeftEyeSequence	Ophthalmic Axial Measurements Left Eye Sequence
00221009	CS	1	-	OphthalmicAxialMeasurementsDeviceType	Ophthalmic Axial Measurements Device Type
00221010	CS	1	-	OphthalmicAxialLengthMeasurementsType	Ophthalmic Axial Length Measurements Type
00221012	SQ	1	-	OphthalmicAxialLengthSequence	Ophthalmic Axial Length Sequence
00221019	FL	1	-	OphthalmicAxialLength	Ophthalmic Axial Length
00221024	SQ	1	-	LensStatusCodeSequence	Lens Status Code Sequence
00221025	SQ	1	-	VitreousStatusCodeSequence	Vitreous Status Code Sequence
00221028	SQ	1	-	IOLFormulaCodeSequence	IOL Formula Code Sequence
00221029	LO	1	-	IOLFormulaDetail	IOL Formula Detail
00221033	FL	1	-	KeratometerIndex	Keratometer Index
00221035	SQ	1	-	SourceOfOphthalmicAxialLengthCodeSequence	Source of Ophthalmic Axial Length Code Sequence
00221036	SQ	1	-	SourceOfCornealSizeDataCodeSequence	Source of Corneal Size Data Code Sequence
00221037	FL	1	-	TargetRefraction	Target Refraction
00221039	CS	1	-	RefractiveProcedureOccurred	Refractive Procedure Occurred
00221040	SQ	1	-	RefractiveSurgeryTypeCodeSequence	Refractive Surgery Type Code Sequence
00221044	SQ	1	-	OphthalmicUltrasoundMethodCodeSequence	Ophthalmic Ultrasound Method Code Sequence
00221045	SQ	1	-	SurgicallyInducedAstigmatismSequence	Surgically Induced Astigmatism Sequence
00221046	CS	1	-	TypeOfOpticalCorrection	Type of Optical Correction
00221047	SQ	1	-	ToricIOLPowerSequence	Toric IOL Power Sequence
00221048	SQ	1	-	PredictedToricErrorSequence	Predicted Toric Error Sequence
00221049	CS	1	-	PreSelectedForImplantation	Pre-Selected for Implantation
0022104A	SQ	1	-	ToricIOLPowerForExactEmmetropiaSequence	Toric IOL Power for Exact Emmetropia Sequence
0022104B	SQ	1	-	ToricIOLPowerForExactTargetRefractionSequence	Toric IOL Power for Exact Target Refraction Sequence
00221050	SQ	1	-	OphthalmicAxialLengthMeasurementsSequence	Ophthalmic Axial Length Measurements Sequence
00221053	FL	1	-	IOLPower	IOL Power
00221054	FL	1	-	PredictedRefractiveError	Predicted Refractive Error
00221059	FL	1	-	OphthalmicAxialLengthVelocity	Ophthalmic Axial Length Velocity
00221065	LO	1	-	LensStatusDescription	Lens Status Description
00221066	LO	1	-	VitreousStatusDescription	Vitreous Status Description
00221090	SQ	1	-	IOLPowerSequence	IOL Power Sequence
00221092	SQ	1	-	LensConstantSequence	Lens Constant Sequence
00221093	LO	1	-	IOLManufacturer	IOL Manufacturer
00221094	LO	1	R	LensConstantDescription	Lens Constant Description
00221095	LO	1	-	ImplantName	Implant Name
00221096	SQ	1	-	KeratometryMeasurementTypeCodeSequence	Keratometry Measurement Type Code Sequence
00221097	LO	1	-	ImplantPartNumber	Implant Part Number
00221100	SQ	1	-	ReferencedOphthalmicAxialMeasurementsSequence	Referenced Ophthalmic Axial Measurements Sequence
00221101	SQ	1	-	OphthalmicAxialLengthMeasurementsSegmentNameCodeSequence	Ophthalmic Axial Length Measurements Segment Name Code Sequence
00221103	SQ	1	-	RefractiveErrorBeforeRefractiveSurgeryCodeSequence	Refractive Error Before Refractive Surgery Code Sequence
00221121	FL	1	-	IOLPowerForExactEmmetropia	IOL Power For Exact Emmetropia
00221122	FL	1	-	IOLPowerForExactTargetRefraction	IOL Power For Exact Target Refraction
00221125	SQ	1	-	AnteriorChamberDepthDefinitionCodeSequence	Anterior Chamber Depth Definition Code Sequence
00221127	SQ	1	-	LensThicknessSequence	Lens Thickness Sequence
00221128	SQ	1	-	AnteriorChamberDepthSequence	Anterior Chamber Depth Sequence
0022112A	SQ	1	-	CalculationCommentSequence	Calculation Comment Sequence
0022112B	CS	1	-	CalculationCommentType	Calculation Comment Type
0022112C	LT	1	-	CalculationComment	Calculation Comment
00221130	FL	1	-	LensThickness	Lens Thickness
00221131	FL	1	-	AnteriorChamberDepth	Anterior Chamber Depth
00221132	SQ	1	-	SourceOfLensThicknessDataCodeSequence	Source of Lens Thickness Data Code Sequence
00221133	SQ	1	-	SourceOfAnteriorChamberDepthDataCodeSequence	Source of Anterior Chamber Depth Data Code Sequence
00221134	SQ	1	-	SourceOfRefractiveMeasurementsSequence	Source of Refractive Measurements Sequence
00221135	SQ	1	-	SourceOfRefractiveMeasurementsCodeSequence	Source of Refractive Measurements Code Sequence
00221140	CS	1	-	OphthalmicAxialLengthMeasurementModified	Ophthalmic Axial Length Measurement Modified
00221150	SQ	1	-	OphthalmicAxialLengthDataSourceCodeSequence	Ophthalmic Axial Length Data Source Code Sequence
00221153	SQ	1	R	OphthalmicAxialLengthAcquisitionMethodCodeSequence	Ophthalmic Axial Length Acquisition Method Code Sequence
00221155	FL	1	-	SignalToNoiseRatio	Signal to Noise Ratio
00221159	LO	1	-	OphthalmicAxialLengthDataSourceDescription	Ophthalmic Axial Length Data Source Description
00221210	SQ	1	-	OphthalmicAxialLengthMeasurementsTotalLengthSequence	Ophthalmic Axial Length Measurements Total Length Sequence
00221211	SQ	1	-	OphthalmicAxialLengthMeasurementsSegmentalLengthSequence	Ophthalmic Axial Length Measurements Segmental Length Sequence
00221212	SQ	1	-	OphthalmicAxialLengthMeasurementsLengthSummationSequence	Ophthalmic Axial Length Measurements Length Summation Sequence
00221220	SQ	1	-	UltrasoundOphthalmicAxialLengthMeasurementsSequence	Ultrasound Ophthalmic Axial Length Measurements Sequence
00221225	SQ	1	-	OpticalOphthalmicAxialLengthMeasurementsSequence	Optical Ophthalmic Axial Length Measurements Sequence
00221230	SQ	1	-	UltrasoundSelectedOphthalmicAxialLengthSequence	Ultrasound Selected Ophthalmic Axial Length Sequence
00221250	SQ	1	-	OphthalmicAxialLengthSelectionMethodCodeSequence	Ophthalmic Axial Length Selection Method Code Sequence
00221255	SQ	1	-	OpticalSelectedOphthalmicAxialLengthSequence	Optical Selected Ophthalmic Axial Length Sequence
00221257	SQ	1	-	SelectedSegmentalOphthalmicAxialLengthSequence	Selected Segmental Ophthalmic Axial Length Sequence
00221260	SQ	1	-	SelectedTotalOphthalmicAxialLengthSequence	Selected Total Ophthalmic Axial Length Sequence
00221262	SQ	1	-	OphthalmicAxialLengthQualityMetricSequence	Ophthalmic Axial Length Quality Metric Sequence
00221265	SQ	1	R	OphthalmicAxialLengthQualityMetricTypeCodeSequence	Ophthalmic Axial Length Quality Metric Type Code Sequence
00221273	LO	1	R	OphthalmicAxialLengthQualityMetricTypeDescription	Ophthalmic Axial Length Quality Metric Type Description
00221300	SQ	1	-	IntraocularLensCalculationsRightEyeSequence	Intraocular Lens Calculations Right Eye Sequence
00221310	SQ	1	-	IntraocularLensCalculationsLeftEyeSequence	Intraocular Lens Calculations Left Eye Sequence
00221330	SQ	1	-	ReferencedOphthalmicAxialLengthMeasurementQCImageSequence	Referenced Ophthalmic Axial Length Measurement QC Image Sequence
00221415	CS	1	-	OphthalmicMappingDeviceType	Ophthalmic Mapping Device Type
00221420	SQ	1	-	AcquisitionMethodCodeSequence	Acquisition Method Code Sequence
00221423	SQ	1	-	AcquisitionMethodAlgorithmSequence	Acquisition Method Algorithm Sequence
00221436	SQ	1	-	OphthalmicThicknessMapTypeCodeSequence	Ophthalmic Thickness Map Type Code Sequence
00221443	SQ	1	-	OphthalmicThicknessMappingNormalsSequence	Ophthalmic Thickness Mapping Normals Sequence
00221445	SQ	1	-	RetinalThicknessDefinitionCodeSequence	Retinal Thickness Definition Code Sequence
00221450	SQ	1	-	PixelValueMappingToCodedConceptSequence	Pixel Value Mapping to Coded Concept Sequence
00221452	US/SS	1	-	MappedPixelValue	Mapped Pixel Value
00221454	LO	1	-	PixelValueMappingExplanation	Pixel Value Mapping Explanation
00221458	SQ	1	-	OphthalmicThicknessMapQualityThresholdSequence	Ophthalmic Thickness Map Quality Threshold Sequence
00221460	FL	1	-	OphthalmicThicknessMapThresholdQualityRating	Ophthalmic Thickness Map Threshold Quality Rating
00221463	FL	2	-	AnatomicStructureReferencePoint	Anatomic Structure Reference Point
00221465	SQ	1	-	RegistrationToLocalizerSequence	Registration to Localizer Sequence
00221466	CS	1	-	RegisteredLocalizerUnits	Registered Localizer Units
00221467	FL	2	-	RegisteredLocalizerTopLeftHandCorner	Registered Localizer Top Left Hand Corner
00221468	FL	2	-	RegisteredLocalizerBottomRightHandCorner	Registered Localizer Bottom Right Hand Corner
00221470	SQ	1	-	OphthalmicThicknessMapQualityRatingSequence	Ophthalmic Thickness Map Quality Rating Sequence
00221472	SQ	1	-	RelevantOPTAttributesSequence	Relevant OPT Attributes Sequence
00221512	SQ	1	-	TransformationMethodCodeSequence	Transformation Method Code Sequence
00221513	SQ	1	-	TransformationAlgorithmSequence	Transformation Algorithm Sequence
00221515	CS	1	-	OphthalmicAxialLengthMethod	Ophthalmic Axial Length Method
00221517	FL	1	-	OphthalmicFOV	Ophthalmic FOV
00221518	SQ	1	-	TwoDimensionalToThreeDimensionalMapSequence	Two Dimensional to Three Dimensional Map Sequence
00221525	SQ	1	-	WideFieldOphthalmicPhotographyQualityRatingSequence	Wide Field Ophthalmic Photography Quality Rating Sequence
00221526	SQ	1	-	WideFieldOphthalmicPhotographyQualityThresholdSequence	Wide Field Ophthalmic Photography Quality Threshold Sequence
00221527	FL	1	-	WideFieldOphthalmicPhotographyThresholdQualityRating	Wide Field Ophthalmic Photography Threshold Quality Rating
00221528	FL	1	-	XCoordinatesCenterPixelViewAngle	X Coordinates Center Pixel View Angle
00221529	FL	1	-	YCoordinatesCenterPixelViewAngle	Y Coordinates Center Pixel View Angle
00221530	UL	1	-	NumberOfMapPoints	Number of Map Points
00221531	OF	1	-	TwoDimensionalToThreeDimensionalMapData	Two Dimensional to Three Dimensional Map Data
00221612	SQ	1	-	DerivationAlgorithmSequence	Derivation Algorithm Sequence
00221615	SQ	1	-	OphthalmicImageTypeCodeSequence	Ophthalmic Image Type Code Sequence
00221616	LO	1	-	OphthalmicImageTypeDescription	Ophthalmic Image Type Description
00221618	SQ	1	-	ScanPatternTypeCodeSequence	Scan Pattern Type Code Sequence
00221620	SQ	1	-	ReferencedSurfaceMeshIdentificationSequence	Referenced Surface Mesh Identification Sequence
00221622	CS	1	-	OphthalmicVolumetricPropertiesFlag	Ophthalmic Volumetric Properties Flag
00221624	FL	1	-	OphthalmicAnatomicReferencePointXCoordinate	Ophthalmic Anatomic Reference Point X-Coordinate
00221626	FL	1	-	OphthalmicAnatomicReferencePointYCoordinate	Ophthalmic Anatomic Reference Point Y-Coordinate
00221628	SQ	1	-	OphthalmicEnFaceImageQualityRatingSequence	Ophthalmic En Face Image Quality Rating Sequence
00221630	DS	1	-	QualityThreshold	Quality Threshold
00221640	SQ	1	-	OCTBscanAnalysisAcquisitionParametersSequence	OCT B-scan Analysis Acquisition Parameters Sequence
00221642	UL	1	-	NumberOfBscansPerFrame	Number of B-scans Per Frame
00221643	FL	1	-	BscanSlabThickness	B-scan Slab Thickness
00221644	FL	1	-	DistanceBetweenBscanSlabs	Distance Between B-scan Slabs
00221645	FL	1	-	BscanCycleTime	B-scan Cycle Time
00221646	FL	1-n	-	BscanCycleTimeVector	B-scan Cycle Time Vector
00221649	FL	1	-	AscanRate	A-scan Rate
00221650	FL	1	-	BscanRate	B-scan Rate
00221658	UL	1	-	SurfaceMeshZPixelOffset	Surface Mesh Z-Pixel Offset
00240010	FL	1	-	VisualFieldHorizontalExtent	Visual Field Horizontal Extent
00240011	FL	1	-	VisualFieldVerticalExtent	Visual Field Vertical Extent
00240012	CS	1	-	VisualFieldShape	Visual Field Shape
00240016	SQ	1	-	ScreeningTestModeCodeSequence	Screening Test Mode Code Sequence
00240018	FL	1	-	MaximumStimulusLuminance	Maximum Stimulus Luminance
00240020	FL	1	-	BackgroundLuminance	Background Luminance
00240021	SQ	1	-	StimulusColorCodeSequence	Stimulus Color Code Sequence
00240024	SQ	1	-	BackgroundIlluminationColorCodeSequence	Background Illumination Color Code Sequence
00240025	FL	1	-	StimulusArea	Stimulus Area
00240028	FL	1	-	StimulusPresentationTime	Stimulus Presentation Time
00240032	SQ	1	-	FixationSequence	Fixation Sequence
00240033	SQ	1	-	FixationMonitoringCodeSequence	Fixation Monitoring Code Sequence
00240034	SQ	1	-	VisualFieldCatchTrialSequence	Visual Field Catch Trial Sequence
00240035	US	1	-	FixationCheckedQuantity	Fixation Checked Quantity
00240036	US	1	-	PatientNotProperlyFixatedQuantity	Patient Not Properly Fixated Quantity
00240037	CS	1	-	PresentedVisualStimuliDataFlag	Presented Visual Stimuli Data Flag
00240038	US	1	-	NumberOfVisualStimuli	Number of Visual Stimuli
00240039	CS	1	-	ExcessiveFixationLossesDataFlag	Excessive Fixation Losses Data Flag
00240040	CS	1	-	ExcessiveFixationLosses	Excessive Fixation Losses
00240042	US	1	-	StimuliRetestingQuantity	Stimuli Retesting Quantity
00240044	LT	1	-	CommentsOnPatientPerformanceOfVisualField	Comments on Patient's Performance of Visual Field
00240045	CS	1	-	FalseNegativesEstimateFlag	False Negatives Estimate Flag
00240046	FL	1	-	FalseNegativesEstimate	False Negatives Estimate
00240048	US	1	-	NegativeCatchTrialsQuantity	Negative Catch Trials Quantity
00240050	US	1	-	FalseNegativesQuantity	False Negatives Quantity
00240051	CS	1	-	ExcessiveFalseNegativesDataFlag	Excessive False Negatives Data Flag
00240052	CS	1	-	ExcessiveFalseNegatives	Excessive False Negatives
00240053	CS	1	-	FalsePositivesEstimateFlag	False Positives Estimate Flag
00240054	FL	1	-	FalsePositivesEstimate	False Positives Estimate
00240055	CS	1	-	CatchTrialsDataFlag	Catch Trials Data Flag
00240056	US	1	-	PositiveCatchTrialsQuantity	Positive Catch Trials Quantity
00240057	CS	1	-	TestPointNormalsDataFlag	Test Point Normals Data Flag
00240058	SQ	1	-	TestPointNormalsSequence	Test Point Normals Sequence
00240059	CS	1	-	GlobalDeviationProbabilityNormalsFlag	Global Deviation Probability Normals Flag
00240060	US	1	-	FalsePositivesQuantity	False Positives Quantity
00240061	CS	1	-	ExcessiveFalsePositivesDataFlag	Excessive False Positives Data Flag
00240062	CS	1	-	ExcessiveFalsePositives	Excessive False Positives
00240063	CS	1	-	VisualFieldTestNormalsFlag	Visual Field Test Normals Flag
00240064	SQ	1	-	ResultsNormalsSequence	Results Normals Sequence
00240065	SQ	1	-	AgeCorrectedSensitivityDeviationAlgorithmSequence	Age Corrected Sensitivity Deviation Algorithm Sequence
00240066	FL	1	-	GlobalDeviationFromNormal	Global Deviation From Normal
00240067	SQ	1	-	GeneralizedDefectSensitivityDeviationAlgorithmSequence	Generalized Defect Sensitivity Deviation Algorithm Sequence
00240068	FL	1	-	LocalizedDeviationFromNormal	Localized Deviation From Normal
00240069	LO	1	-	PatientReliabilityIndicator	Patient Reliability Indicator
00240070	FL	1	-	VisualFieldMeanSensitivity	Visual Field Mean Sensitivity
00240071	FL	1	-	GlobalDeviationProbability	Global Deviation Probability
00240072	CS	1	-	LocalDeviationProbabilityNormalsFlag	Local Deviation Probability Normals Flag
00240073	FL	1	-	LocalizedDeviationProbability	Localized Deviation Probability
00240074	CS	1	-	ShortTermFluctuationCalculated	Short Term Fluctuation Calculated
00240075	FL	1	-	ShortTermFluctuation	Short Term Fluctuation
00240076	CS	1	-	ShortTermFluctuationProbabilityCalculated	Short Term Fluctuation Probability Calculated
00240077	FL	1	-	ShortTermFluctuationProbability	Short Term Fluctuation Probability
00240078	CS	1	-	CorrectedLocalizedDeviationFromNormalCalculated	Corrected Localized Deviation From Normal Calculated
00240079	FL	1	-	CorrectedLocalizedDeviationFromNormal	Corrected Localized Deviation From Normal
00240080	CS	1	-	CorrectedLocalizedDeviationFromNormalProbabilityCalculated	Corrected Localized Deviation From Normal Probability Calculated
00240081	FL	1	-	CorrectedLocalizedDeviationFromNormalProbability	Corrected Localized Deviation From Normal Probability
00240083	SQ	1	-	GlobalDeviationProbabilitySequence	Global Deviation Probability Sequence
00240085	SQ	1	-	LocalizedDeviationProbabilitySequence	Localized Deviation Probability Sequence
00240086	CS	1	-	FovealSensitivityMeasured	Foveal Sensitivity Measured
00240087	FL	1	-	FovealSensitivity	Foveal Sensitivity
00240088	FL	1	-	VisualFieldTestDuration	Visual Field Test Duration
00240089	SQ	1	-	VisualFieldTestPointSequence	Visual Field Test Point Sequence
00240090	FL	1	-	VisualFieldTestPointXCoordinate	Visual Field Test Point X-Coordinate
00240091	FL	1	-	VisualFieldTestPointYCoordinate	Visual Field Test Point Y-Coordinate
00240092	FL	1	-	AgeCorrectedSensitivityDeviationValue	Age Corrected Sensitivity Deviation Value
00240093	CS	1	-	StimulusResults	Stimulus Results
00240094	FL	1	-	SensitivityValue	Sensitivity Value
00240095	CS	1	-	RetestStimulusSeen	Retest Stimulus Seen
00240096	FL	1	-	RetestSensitivityValue	Retest Sensitivity Value
00240097	SQ	1	-	VisualFieldTestPointNormalsSequence	Visual Field Test Point Normals Sequence
00240098	FL	1	-	QuantifiedDefect	Quantified Defect
00240100	FL	1	-	AgeCorrectedSensitivityDeviationProbabilityValue	Age Corrected Sensitivity Deviation Probability Value
00240102	CS	1	-	GeneralizedDefectCorrectedSensitivityDeviationFlag	Generalized Defect Corrected Sensitivity Deviation Flag
00240103	FL	1	-	GeneralizedDefectCorrectedSensitivityDeviationValue	Generalized Defect Corrected Sensitivity Deviation Value
00240104	FL	1	-	GeneralizedDefectCorrectedSensitivityDeviationProbabilityValue	Generalized Defect Corrected Sensitivity Deviation Probability Value
00240105	FL	1	-	MinimumSensitivityValue	Minimum Sensitivity Value
00240106	CS	1	-	BlindSpotLocalized	Blind Spot Localized
00240107	FL	1	-	BlindSpotXCoordinate	Blind Spot X-Coordinate
00240108	FL	1	-	BlindSpotYCoordinate	Blind Spot Y-Coordinate
00240110	SQ	1	-	VisualAcuityMeasurementSequence	Visual Acuity Measurement Sequence
00240112	SQ	1	-	RefractiveParametersUsedOnPatientSequence	Refractive Parameters Used on Patient Sequence
00240113	CS	1	-	MeasurementLaterality	Measurement Laterality
00240114	SQ	1	-	OphthalmicPatientClinicalInformationLeftEyeSequence	Ophthalmic Patient Clinical Information Left Eye Sequence
00240115	SQ	1	-	OphthalmicPatientClinicalInformationRightEyeSequence	Ophthalmic Patient Clinical Information Right Eye Sequence
00240117	CS	1	-	FovealPointNormativeDataFlag	Foveal Point Normative Data Flag
00240118	FL	1	-	FovealPointProbabilityValue	Foveal Point Probability Value
00240120	CS	1	-	ScreeningBaselineMeasured	Screening Baseline Measured
00240122	SQ	1	-	ScreeningBaselineMeasuredSequence	Screening Baseline Measured Sequence
00240124	CS	1	-	ScreeningBaselineType	Screening Baseline Type
00240126	FL	1	-	ScreeningBaselineValue	Screening Baseline Value
00240202	LO	1	-	AlgorithmSource	Algorithm Source
00240306	LO	1	-	DataSetName	Data Set Name
00240307	LO	1	-	DataSetVersion	Data Set Version
00240308	LO	1	-	DataSetSource	Data Set Source
00240309	LO	1	-	DataSetDescription	Data Set Description
00240317	SQ	1	-	VisualFieldTestReliabilityGlobalIndexSequence	Visual Field Test Reliability Global Index Sequence
00240320	SQ	1	-	VisualFieldGlobalResultsIndexSequence	Visual Field Global Results Index Sequence
00240325	SQ	1	-	DataObservationSequence	Data Observation Sequence
00240338	CS	1	-	IndexNormalsFlag	Index Normals Flag
00240341	FL	1	-	IndexProbability	Index Probability
00240344	SQ	1	-	IndexProbabilitySequence	Index Probability Sequence
00280002	US	1	-	SamplesPerPixel	Samples per Pixel
00280003	US	1	-	SamplesPerPixelUsed	Samples per Pixel Used
00280004	CS	1	-	PhotometricInterpretation	Photometric Interpretation
00280005	US	1	R	ImageDimensions	Image Dimensions
00280006	US	1	-	PlanarConfiguration	Planar Configuration
00280008	IS	1	-	NumberOfFrames	Number of Frames
00280009	AT	1-n	-	FrameIncrementPointer	Frame Increment Pointer
0028000A	AT	1-n	-	FrameDimensionPointer	Frame Dimension Pointer
00280010	US	1	-	Rows	Rows
00280011	US	1	-	Columns	Columns
00280012	US	1	R	Planes	Planes
00280014	US	1	-	UltrasoundColorDataPresent	Ultrasound Color Data Present
00280020	OB	1	R		Retired-blank
00280030	DS	2	-	PixelSpacing	Pixel Spacing
00280031	DS	2	-	ZoomFactor	Zoom Factor
00280032	DS	2	-	ZoomCenter	Zoom Center
00280034	IS	2	-	PixelAspectRatio	Pixel Aspect Ratio
00280040	CS	1	R	ImageFormat	Image Format
00280050	LO	1-n	R	ManipulatedImage	Manipulated Image
00280051	CS	1-n	-	CorrectedImage	Corrected Image
0028005F	LO	1	R	CompressionRecognitionCode	Compression Recognition Code
00280060	CS	1	R	CompressionCode	Compression Code
00280061	SH	1	R	CompressionOriginator	Compression Originator
00280062	LO	1	R	CompressionLabel	Compression Label
00280063	SH	1	R	CompressionDescription	Compression Description
00280065	CS	1-n	R	CompressionSequence	Compression Sequence
00280066	AT	1-n	R	CompressionStepPointers	Compression Step Pointers
00280068	US	1	R	RepeatInterval	Repeat Interval
00280069	US	1	R	BitsGrouped	Bits Grouped
00280070	US	1-n	R	PerimeterTable	Perimeter Table
00280071	US/SS	1	R	PerimeterValue	Perimeter Value
00280080	US	1	R	PredictorRows	Predictor Rows
00280081	US	1	R	PredictorColumns	Predictor Columns
00280082	US	1-n	R	PredictorConstants	Predictor Constants
00280090	CS	1	R	BlockedPixels	Blocked Pixels
00280091	US	1	R	BlockRows	Block Rows
00280092	US	1	R	BlockColumns	Block Columns
00280093	US	1	R	RowOverlap	Row Overlap
00280094	US	1	R	ColumnOverlap	Column Overlap
00280100	US	1	-	BitsAllocated	Bits Allocated
00280101	US	1	-	BitsStored	Bits Stored
00280102	US	1	-	HighBit	High Bit
00280103	US	1	-	PixelRepresentation	Pixel Representation
00280104	US/SS	1	R	SmallestValidPixelValue	Smallest Valid Pixel Value
00280105	US/SS	1	R	LargestValidPixelValue	Largest Valid Pixel Value
00280106	US/SS	1	-	SmallestImagePixelValue	Smallest Image Pixel Value
00280107	US/SS	1	-	LargestImagePixelValue	Largest Image Pixel Value
00280108	US/SS	1	-	SmallestPixelValueInSeries	Smallest Pixel Value in Series
00280109	US/SS	1	-	LargestPixelValueInSeries	Largest Pixel Value in Series
00280110	US/SS	1	R	SmallestImagePixelValueInPlane	Smallest Image Pixel Value in Plane
00280111	US/SS	1	R	LargestImagePixelValueInPlane	Largest Image Pixel Value in Plane
00280120	US/SS	1	-	PixelPaddingValue	Pixel Padding Value
00280121	US/SS	1	-	PixelPaddingRangeLimit	Pixel Padding Range Limit
00280122	FL	1	-	FloatPixelPaddingValue	Float Pixel Padding Value
00280123	FD	1	-	DoubleFloatPixelPaddingValue	Double Float Pixel Padding Value
00280124	FL	1	-	FloatPixelPaddingRangeLimit	Float Pixel Padding Range Limit
00280125	FD	1	-	DoubleFloatPixelPaddingRangeLimit	Double Float Pixel Padding Range Limit
00280200	US	1	R	ImageLocation	Image Location
00280300	CS	1	-	QualityControlImage	Quality Control Image
00280301	CS	1	-	BurnedInAnnotation	Burned In Annotation
00280302	CS	1	-	RecognizableVisualFeatures	Recognizable Visual Features
00280303	CS	1	-	LongitudinalTemporalInformationModified	Longitudinal Temporal Information Modified
00280304	UI	1	-	ReferencedColorPaletteInstanceUID	Referenced Color Palette Instance UID
00280400	LO	1	R	TransformLabel	Transform Label
00280401	LO	1	R	TransformVersionNumber	Transform Version Number
00280402	US	1	R	NumberOfTransformSteps	Number of Transform Steps
00280403	LO	1-n	R	SequenceOfCompressedData	Sequence of Compressed Data
00280404	AT	1-n	R	DetailsOfCoefficients	Details of Coefficients
00280700	LO	1	R	DCTLabel	DCT Label
00280701	CS	1-n	R	DataBlockDescription	Data Block Description
00280702	AT	1-n	R	DataBlock	Data Block
00280710	US	1	R	NormalizationFactorFormat	Normalization Factor Format
00280720	US	1	R	ZonalMapNumberFormat	Zonal Map Number Format
00280721	AT	1-n	R	ZonalMapLocation	Zonal Map Location
00280722	US	1	R	ZonalMapFormat	Zonal Map Format
00280730	US	1	R	AdaptiveMapFormat	Adaptive Map Format
00280740	US	1	R	CodeNumberFormat	Code Number Format
00280A02	CS	1	-	PixelSpacingCalibrationType	Pixel Spacing Calibration Type
00280A04	LO	1	-	PixelSpacingCalibrationDescription	Pixel Spacing Calibration Description
00281040	CS	1	-	PixelIntensityRelationship	Pixel Intensity Relationship
00281041	SS	1	-	PixelIntensityRelationshipSign	Pixel Intensity Relationship Sign
00281050	DS	1-n	-	WindowCenter	Window Center
00281051	DS	1-n	-	WindowWidth	Window Width
00281052	DS	1	-	RescaleIntercept	Rescale Intercept
00281053	DS	1	-	RescaleSlope	Rescale Slope
00281054	LO	1	-	RescaleType	Rescale Type
00281055	LO	1-n	-	WindowCenterWidthExplanation	Window Center & Width Explanation
00281056	CS	1	-	VOILUTFunction	VOI LUT Function
00281080	CS	1	R	GrayScale	Gray Scale
00281090	CS	1	-	RecommendedViewingMode	Recommended Viewing Mode
00281100	US/SS	3	R	GrayLookupTableDescriptor	Gray Lookup Table Descriptor
00281101	US/SS	3	-	RedPaletteColorLookupTableDescriptor	Red Palette Color Lookup Table Descriptor
00281102	US/SS	3	-	GreenPaletteColorLookupTableDescriptor	Green Palette Color Lookup Table Descriptor
00281103	US/SS	3	-	BluePaletteColorLookupTableDescriptor	Blue Palette Color Lookup Table Descriptor
00281104	US	3	-	AlphaPaletteColorLookupTableDescriptor	Alpha Palette Color Lookup Table Descriptor
00281111	US/SS	4	R	LargeRedPaletteColorLookupTableDescriptor	Large Red Palette Color Lookup Table Descriptor
00281112	US/SS	4	R	LargeGreenPaletteColorLookupTableDescriptor	Large Green Palette Color Lookup Table Descriptor
00281113	US/SS	4	R	LargeBluePaletteColorLookupTableDescriptor	Large Blue Palette Color Lookup Table Descriptor
00281199	UI	1	-	PaletteColorLookupTableUID	Palette Color Lookup Table UID
00281200	US/SS/OW	1-n	R	GrayLookupTableData	Gray Lookup Table Data
00281201	OW	1	-	RedPaletteColorLookupTableData	Red Palette Color Lookup Table Data
00281202	OW	1	-	GreenPaletteColorLookupTableData	Green Palette Color Lookup Table Data
00281203	OW	1	-	BluePaletteColorLookupTableData	Blue Palette Color Lookup Table Data
00281204	OW	1	-	AlphaPaletteColorLookupTableData	Alpha Palette Color Lookup Table Data
00281211	OW	1	R	LargeRedPaletteColorLookupTableData	Large Red Palette Color Lookup Table Data
00281212	OW	1	R	LargeGreenPaletteColorLookupTableData	Large Green Palette Color Lookup Table Data
00281213	OW	1	R	LargeBluePaletteColorLookupTableData	Large Blue Palette Color Lookup Table Data
00281214	UI	1	R	LargePaletteColorLookupTableUID	Large Palette Color Lookup Table UID
00281221	OW	1	-	SegmentedRedPaletteColorLookupTableData	Segmented Red Palette Color Lookup Table Data
00281222	OW	1	-	SegmentedGreenPaletteColorLookupTableData	Segmented Green Palette Color Lookup Table Data
00281223	OW	1	-	SegmentedBluePaletteColorLookupTableData	Segmented Blue Palette Color Lookup Table Data
00281224	OW	1	-	SegmentedAlphaPaletteColorLookupTableData	Segmented Alpha Palette Color Lookup Table Data
00281230	SQ	1	-	StoredValueColorRangeSequence	Stored Value Color Range Sequence
00281231	FD	1	-	MinimumStoredValueMapped	Minimum Stored Value Mapped
00281232	FD	1	-	MaximumStoredValueMapped	Maximum Stored Value Mapped
00281300	CS	1	-	BreastImplantPresent	Breast Implant Present
00281350	CS	1	-	PartialView	Partial View
00281351	ST	1	-	PartialViewDescription	Partial View Description
00281352	SQ	1	-	PartialViewCodeSequence	Partial View Code Sequence
0028135A	CS	1	-	SpatialLocationsPreserved	Spatial Locations Preserved
00281401	SQ	1	-	DataFrameAssignmentSequence	Data Frame Assignment Sequence
00281402	CS	1	-	DataPathAssignment	Data Path Assignment
00281403	US	1	-	BitsMappedToColorLookupTable	Bits Mapped to Color Lookup Table
00281404	SQ	1	-	BlendingLUT1Sequence	Blending LUT 1 Sequence
00281405	CS	1	-	BlendingLUT1TransferFunction	Blending LUT 1 Transfer Function
00281406	FD	1	-	BlendingWeightConstant	Blending Weight Constant
00281407	US	3	-	BlendingLookupTableDescriptor	Blending Lookup Table Descriptor
00281408	OW	1	-	BlendingLookupTableData	Blending Lookup Table Data
0028140B	SQ	1	-	EnhancedPaletteColorLookupTableSequence	Enhanced Palette Color Lookup Table Sequence
0028140C	SQ	1	-	BlendingLUT2Sequence	Blending LUT 2 Sequence
0028140D	CS	1	-	BlendingLUT2TransferFunction	Blending LUT 2 Transfer Function
0028140E	CS	1	-	DataPathID	Data Path ID
0028140F	CS	1	-	RGBLUTTransferFunction	RGB LUT Transfer Function
00281410	CS	1	-	AlphaLUTTransferFunction	Alpha LUT Transfer Function
00282000	OB	1	-	ICCProfile	ICC Profile
00282002	CS	1	-	ColorSpace	Color Space
00282110	CS	1	-	LossyImageCompression	Lossy Image Compression
00282112	DS	1-n	-	LossyImageCompressionRatio	Lossy Image Compression Ratio
00282114	CS	1-n	-	LossyImageCompressionMethod	Lossy Image Compression Method
00283000	SQ	1	-	ModalityLUTSequence	Modality LUT Sequence
00283001	SQ	1	-	VariableModalityLUTSequence	Variable Modality LUT Sequence
00283002	US/SS	3	-	LUTDescriptor	LUT Descriptor
00283003	LO	1	-	LUTExplanation	LUT Explanation
00283004	LO	1	-	ModalityLUTType	Modality LUT Type
00283006	US/OW	1-n	-	LUTData	LUT Data
00283010	SQ	1	-	VOILUTSequence	VOI LUT Sequence
00283110	SQ	1	-	SoftcopyVOILUTSequence	Softcopy VOI LUT Sequence
00284000	LT	1	R	ImagePresentationComments	Image Presentation Comments
00285000	SQ	1	R	BiPlaneAcquisitionSequence	Bi-Plane Acquisition Sequence
00286010	US	1	-	RepresentativeFrameNumber	Representative Frame Number
00286020	US	1-n	-	FrameNumbersOfInterest	Frame Numbers of Interest (FOI)
00286022	LO	1-n	-	FrameOfInterestDescription	Frame of Interest Description
00286023	CS	1-n	-	FrameOfInterestType	Frame of Interest Type
00286030	US	1-n	R	MaskPointers	Mask Pointer(s)
00286040	US	1-n	-	RWavePointer	R Wave Pointer
00286100	SQ	1	-	MaskSubtractionSequence	Mask Subtraction Sequence
00286101	CS	1	-	MaskOperation	Mask Operation
00286102	US	2-2n	-	ApplicableFrameRange	Applicable Frame Range
00286110	US	1-n	-	MaskFrameNumbers	Mask Frame Numbers
00286112	US	1	-	ContrastFrameAveraging	Contrast Frame Averaging
00286114	FL	2	-	MaskSubPixelShift	Mask Sub-pixel Shift
00286120	SS	1	-	TIDOffset	TID Offset
00286190	ST	1	-	MaskOperationExplanation	Mask Operation Explanation
00287000	SQ	1	-	EquipmentAdministratorSequence	Equipment Administrator Sequence
00287001	US	1	-	NumberOfDisplaySubsystems	Number of Display Subsystems
00287002	US	1	-	CurrentConfigurationID	Current Configuration ID
00287003	US	1	-	DisplaySubsystemID	Display Subsystem ID
00287004	SH	1	-	DisplaySubsystemName	Display Subsystem Name
00287005	LO	1	-	DisplaySubsystemDescription	Display Subsystem Description
00287006	CS	1	-	SystemStatus	System Status
00287007	LO	1	-	SystemStatusComment	System Status Comment
00287008	SQ	1	-	TargetLuminanceCharacteristicsSequence	Target Luminance Characteristics Sequence
00287009	US	1	-	LuminanceCharacteristicsID	Luminance Characteristics ID
0028700A	SQ	1	-	DisplaySubsystemConfigurationSequence	Display Subsystem Configuration Sequence
0028700B	US	1	-	ConfigurationID	Configuration ID
0028700C	SH	1	-	ConfigurationName	Configuration Name
0028700D	LO	1	-	ConfigurationDescription	Configuration Description
0028700E	US	1	-	ReferencedTargetLuminanceCharacteristicsID	Referenced Target Luminance Characteristics ID
0028700F	SQ	1	-	QAResultsSequence	QA Results Sequence
00287010	SQ	1	-	DisplaySubsystemQAResultsSequence	Display Subsystem QA Results Sequence
00287011	SQ	1	-	ConfigurationQAResultsSequence	Configuration QA Results Sequence
00287012	SQ	1	-	MeasurementEquipmentSequence	Measurement Equipment Sequence
00287013	CS	1-n	-	MeasurementFunctions	Measurement Functions
00287014	CS	1	-	MeasurementEquipmentType	Measurement Equipment Type
00287015	SQ	1	-	VisualEvaluationResultSequence	Visual Evaluation Result Sequence
00287016	SQ	1	-	DisplayCalibrationResultSequence	Display Calibration Result Sequence
00287017	US	1	-	DDLValue	DDL Value
00287018	FL	2	-	CIExyWhitePoint	CIExy White Point
00287019	CS	1	-	DisplayFunctionType	Display Function Type
0028701A	FL	1	-	GammaValue	Gamma Value
0028701B	US	1	-	NumberOfLuminancePoints	Number of Luminance Points
0028701C	SQ	1	-	LuminanceResponseSequence	Luminance Response Sequence
0028701D	FL	1	-	TargetMinimumLuminance	Target Minimum Luminance
0028701E	FL	1	-	TargetMaximumLuminance	Target Maximum Luminance
0028701F	FL	1	-	LuminanceValue	Luminance Value
00287020	LO	1	-	LuminanceResponseDescription	Luminance Response Description
00287021	CS	1	-	WhitePointFlag	White Point Flag
00287022	SQ	1	-	DisplayDeviceTypeCodeSequence	Display Device Type Code Sequence
00287023	SQ	1	-	DisplaySubsystemSequence	Display Subsystem Sequence
00287024	SQ	1	-	LuminanceResultSequence	Luminance Result Sequence
00287025	CS	1	-	AmbientLightValueSource	Ambient Light Value Source
00287026	CS	1-n	-	MeasuredCharacteristics	Measured Characteristics
00287027	SQ	1	-	LuminanceUniformityResultSequence	Luminance Uniformity Result Sequence
00287028	SQ	1	-	VisualEvaluationTestSequence	Visual Evaluation Test Sequence
00287029	CS	1	-	TestResult	Test Result
0028702A	LO	1	-	TestResultComment	Test Result Comment
0028702B	CS	1	-	TestImageValidation	Test Image Validation
0028702C	SQ	1	-	TestPatternCodeSequence	Test Pattern Code Sequence
0028702D	SQ	1	-	MeasurementPatternCodeSequence	Measurement Pattern Code Sequence
0028702E	SQ	1	-	VisualEvaluationMethodCodeSequence	Visual Evaluation Method Code Sequence
00287FE0	UR	1	-	PixelDataProviderURL	Pixel Data Provider URL
00289001	UL	1	-	DataPointRows	Data Point Rows
00289002	UL	1	-	DataPointColumns	Data Point Columns
00289003	CS	1	-	SignalDomainColumns	Signal Domain Columns
00289099	US	1	R	LargestMonochromePixelValue	Largest Monochrome Pixel Value
00289108	CS	1	-	DataRepresentation	Data Representation
00289110	SQ	1	-	PixelMeasuresSequence	Pixel Measures Sequence
00289132	SQ	1	-	FrameVOILUTSequence	Frame VOI LUT Sequence
00289145	SQ	1	-	PixelValueTransformationSequence	Pixel Value Transformation Sequence
00289235	CS	1	-	SignalDomainRows	Signal Domain Rows
00289411	FL	1	-	DisplayFilterPercentage	Display Filter Percentage
00289415	SQ	1	-	FramePixelShiftSequence	Frame Pixel Shift Sequence
00289416	US	1	-	SubtractionItemID	Subtraction Item ID
00289422	SQ	1	-	PixelIntensityRelationshipLUTSequence	Pixel Intensity Relationship LUT Sequence
00289443	SQ	1	-	FramePixelDataPropertiesSequence	Frame Pixel Data Properties Sequence
00289444	CS	1	-	GeometricalProperties	Geometrical Properties
00289445	FL	1	-	GeometricMaximumDistortion	Geometric Maximum Distortion
00289446	CS	1-n	-	ImageProcessingApplied	Image Processing Applied
00289454	CS	1	-	MaskSelectionMode	Mask Selection Mode
00289474	CS	1	-	LUTFunction	LUT Function
00289478	FL	1	-	MaskVisibilityPercentage	Mask Visibility Percentage
00289501	SQ	1	-	PixelShiftSequence	Pixel Shift Sequence
00289502	SQ	1	-	RegionPixelShiftSequence	Region Pixel Shift Sequence
00289503	SS	2-2n	-	VerticesOfTheRegion	Vertices of the Region
00289505	SQ	1	-	MultiFramePresentationSequence	Multi-frame Presentation Sequence
00289506	US	2-2n	-	PixelShiftFrameRange	Pixel Shift Frame Range
00289507	US	2-2n	-	LUTFrameRange	LUT Frame Range
00289520	DS	16	-	ImageToEquipmentMappingMatrix	Image to Equipment Mapping Matrix
00289537	CS	1	-	EquipmentCoordinateSystemIdentification	Equipment Coordinate System Identification
0032000A	CS	1	R	StudyStatusID	Study Status ID
0032000C	CS	1	R	StudyPriorityID	Study Priority ID
00320012	LO	1	R	StudyIDIssuer	Study ID Issuer
00320032	DA	1	R	StudyVerifiedDate	Study Verified Date
00320033	TM	1	R	StudyVerifiedTime	Study Verified Time
00320034	DA	1	R	StudyReadDate	Study Read Date
00320035	TM	1	R	StudyReadTime	Study Read Time
00321000	DA	1	R	ScheduledStudyStartDate	Scheduled Study Start Date
00321001	TM	1	R	ScheduledStudyStartTime	Scheduled Study Start Time
00321010	DA	1	R	ScheduledStudyStopDate	Scheduled Study Stop Date
00321011	TM	1	R	ScheduledStudyStopTime	Scheduled Study Stop Time
00321020	LO	1	R	ScheduledStudyLocation	Scheduled Study Location
00321021	AE	1-n	R	ScheduledStudyLocationAETitle	Scheduled Study Location AE Title
00321030	LO	1	R	ReasonForStudy	Reason for Study
00321031	SQ	1	-	RequestingPhysicianIdentificationSequence	Requesting Physician Identification Sequence
00321032	PN	1	-	RequestingPhysician	Requesting Physician
00321033	LO	1	-	RequestingService	Requesting Service
00321034	SQ	1	-	RequestingServiceCodeSequence	Requesting Service Code Sequence
00321040	DA	1	R	StudyArrivalDate	Study Arrival Date
00321041	TM	1	R	StudyArrivalTime	Study Arrival Time
00321050	DA	1	R	StudyCompletionDate	Study Completion Date
00321051	TM	1	R	StudyCompletionTime	Study Completion Time
00321055	CS	1	R	StudyComponentStatusID	Study Component Status ID
00321060	LO	1	-	RequestedProcedureDescription	Requested Procedure Description
00321064	SQ	1	-	RequestedProcedureCodeSequence	Requested Procedure Code Sequence
00321065	SQ	1	-	RequestedLateralityCodeSequence	Requested Laterality Code Sequence
00321066	UT	1	-	ReasonForVisit	Reason for Visit
00321067	SQ	1	-	ReasonForVisitCodeSequence	Reason for Visit Code Sequence
00321070	LO	1	-	RequestedContrastAgent	Requested Contrast Agent
00324000	LT	1	R	StudyComments	Study Comments
00340001	SQ	1	-	FlowIdentifierSequence	Flow Identifier Sequence
00340002	OB	1	-	FlowIdentifier	Flow Identifier
00340003	UI	1	-	FlowTransferSyntaxUID	Flow Transfer Syntax UID
00340004	UL	1	-	FlowRTPSamplingRate	Flow RTP Sampling Rate
00340005	OB	1	-	SourceIdentifier	Source Identifier
00340007	OB	1	-	FrameOriginTimestamp	Frame Origin Timestamp
00340008	CS	1	-	IncludesImagingSubject	Includes Imaging Subject
00340009	SQ	1	-	FrameUsefulnessGroupSequence	Frame Usefulness Group Sequence
0034000A	SQ	1	-	RealTimeBulkDataFlowSequence	Real-Time Bulk Data Flow Sequence
0034000B	SQ	1	-	CameraPositionGroupSequence	Camera Position Group Sequence
0034000C	CS	1	-	IncludesInformation	Includes Information
0034000D	SQ	1	-	TimeOfFrameGroupSequence	Time of Frame Group Sequence
00380004	SQ	1	R	ReferencedPatientAliasSequence	Referenced Patient Alias Sequence
00380008	CS	1	-	VisitStatusID	Visit Status ID
00380010	LO	1	-	AdmissionID	Admission ID
00380011	LO	1	R	IssuerOfAdmissionID	Issuer of Admission ID
00380014	SQ	1	-	IssuerOfAdmissionIDSequence	Issuer of Admission ID Sequence
00380016	LO	1	-	RouteOfAdmissions	Route of Admissions
0038001A	DA	1	R	ScheduledAdmissionDate	Scheduled Admission Date
0038001B	TM	1	R	ScheduledAdmissionTime	Scheduled Admission Time
0038001C	DA	1	R	ScheduledDischargeDate	Scheduled Discharge Date
0038001D	TM	1	R	ScheduledDischargeTime	Scheduled Discharge Time
0038001E	LO	1	R	ScheduledPatientInstitutionResidence	Scheduled Patient Institution Residence
00380020	DA	1	-	AdmittingDate	Admitting Date
00380021	TM	1	-	AdmittingTime	Admitting Time
00380030	DA	1	R	DischargeDate	Discharge Date
00380032	TM	1	R	DischargeTime	Discharge Time
00380040	LO	1	R	DischargeDiagnosisDescription	Discharge Diagnosis Description
00380044	SQ	1	R	DischargeDiagnosisCodeSequence	Discharge Diagnosis Code Sequence
00380050	LO	1	-	SpecialNeeds	Special Needs
00380060	LO	1	-	ServiceEpisodeID	Service Episode ID
00380061	LO	1	R	IssuerOfServiceEpisodeID	Issuer of Service Episode ID
00380062	LO	1	-	ServiceEpisodeDescription	Service Episode Description
00380064	SQ	1	-	IssuerOfServiceEpisodeIDSequence	Issuer of Service Episode ID Sequence
00380100	SQ	1	-	PertinentDocumentsSequence	Pertinent Documents Sequence
00380101	SQ	1	-	PertinentResourcesSequence	Pertinent Resources Sequence
00380102	LO	1	-	ResourceDescription	Resource Description
00380300	LO	1	-	CurrentPatientLocation	Current Patient Location
00380400	LO	1	-	PatientInstitutionResidence	Patient's Institution Residence
00380500	LO	1	-	PatientState	Patient State
00380502	SQ	1	-	PatientClinicalTrialParticipationSequence	Patient Clinical Trial Participation Sequence
00384000	LT	1	-	VisitComments	Visit Comments
003A0004	CS	1	-	WaveformOriginality	Waveform Originality
003A0005	US	1	-	NumberOfWaveformChannels	Number of Waveform Channels
003A0010	UL	1	-	NumberOfWaveformSamples	Number of Waveform Samples
003A001A	DS	1	-	SamplingFrequency	Sampling Frequency
003A0020	SH	1	-	MultiplexGroupLabel	Multiplex Group Label
003A0200	SQ	1	-	ChannelDefinitionSequence	Channel Definition Sequence
003A0202	IS	1	-	WaveformChannelNumber	Waveform Channel Number
003A0203	SH	1	-	ChannelLabel	Channel Label
003A0205	CS	1-n	-	ChannelStatus	Channel Status
003A0208	SQ	1	-	ChannelSourceSequence	Channel Source Sequence
003A0209	SQ	1	-	ChannelSourceModifiersSequence	Channel Source Modifiers Sequence
003A020A	SQ	1	-	SourceWaveformSequence	Source Waveform Sequence
003A020C	LO	1	-	ChannelDerivationDescription	Channel Derivation Description
003A0210	DS	1	-	ChannelSensitivity	Channel Sensitivity
003A0211	SQ	1	-	ChannelSensitivityUnitsSequence	Channel Sensitivity Units Sequence
003A0212	DS	1	-	ChannelSensitivityCorrectionFactor	Channel Sensitivity Correction Factor
003A0213	DS	1	-	ChannelBaseline	Channel Baseline
003A0214	DS	1	-	ChannelTimeSkew	Channel Time Skew
003A0215	DS	1	-	ChannelSampleSkew	Channel Sample Skew
003A0218	DS	1	-	ChannelOffset	Channel Offset
003A021A	US	1	-	WaveformBitsStored	Waveform Bits Stored
003A0220	DS	1	-	FilterLowFrequency	Filter Low Frequency
003A0221	DS	1	-	FilterHighFrequency	Filter High Frequency
003A0222	DS	1	-	NotchFilterFrequency	Notch Filter Frequency
003A0223	DS	1	-	NotchFilterBandwidth	Notch Filter Bandwidth
003A0230	FL	1	-	WaveformDataDisplayScale	Waveform Data Display Scale
003A0231	US	3	-	WaveformDisplayBackgroundCIELabValue	Waveform Display Background CIELab Value
003A0240	SQ	1	-	WaveformPresentationGroupSequence	Waveform Presentation Group Sequence
003A0241	US	1	-	PresentationGroupNumber	Presentation Group Number
003A0242	SQ	1	-	ChannelDisplaySequence	Channel Display Sequence
003A0244	US	3	-	ChannelRecommendedDisplayCIELabValue	Channel Recommended Display CIELab Value
003A0245	FL	1	-	ChannelPosition	Channel Position
003A0246	CS	1	-	DisplayShadingFlag	Display Shading Flag
003A0247	FL	1	-	FractionalChannelDisplayScale	Fractional Channel Display Scale
003A0248	FL	1	-	AbsoluteChannelDisplayScale	Absolute Channel Display Scale
003A0300	SQ	1	-	MultiplexedAudioChannelsDescriptionCodeSequence	Multiplexed Audio Channels Description Code Sequence
003A0301	IS	1	-	ChannelIdentificationCode	Channel Identification Code
003A0302	CS	1	-	ChannelMode	Channel Mode
003A0310	UI	1	-	MultiplexGroupUID	Multiplex Group UID
003A0311	DS	1	-	PowerlineFrequency	Powerline Frequency
003A0312	SQ	1	-	ChannelImpedanceSequence	Channel Impedance Sequence
003A0313	DS	1	-	ImpedanceValue	Impedance Value
003A0314	DT	1	-	ImpedanceMeasurementDateTime	Impedance Measurement DateTime
003A0315	DS	1	-	ImpedanceMeasurementFrequency	Impedance Measurement Frequency
003A0316	CS	1	-	ImpedanceMeasurementCurrentType	Impedance Measurement Current Type
003A0317	CS	1	-	WaveformAmplifierType	Waveform Amplifier Type
003A0318	SQ	1	-	FilterLowFrequencyCharacteristicsSequence	Filter Low Frequency Characteristics Sequence
003A0319	SQ	1	-	FilterHighFrequencyCharacteristicsSequence	Filter High Frequency Characteristics Sequence
003A0320	SQ	1	-	SummarizedFilterLookupTable	Summarized Filter Lookup Table Sequence
003A0321	SQ	1	-	NotchFilterCharacteristicsSequence	Notch Filter Characteristics Sequence
003A0322	CS	1	-	WaveformFilterType	Waveform Filter Type
003A0323	SQ	1	-	AnalogFilterCharacteristicsSequence	Analog Filter Characteristics Sequence
003A0324	DS	1	-	AnalogFilterRollOff	Analog Filter Roll Off
003A0325	SQ	1	-	AnalogFilterType	Analog Filter Type Code Sequence
003A0326	SQ	1	-	DigitalFilterCharacteristicsSequence	Digital Filter Characteristics Sequence
003A0327	IS	1	-	DigitalFilterOrder	Digital Filter Order
003A0328	SQ	1	-	DigitalFilterTypeCodeSequence	Digital Filter Type Code Sequence
003A0329	ST	1	-	WaveformFilterDescription	Waveform Filter Description
003A032A	SQ	1	-	FilterLookupTableSequence	Filter Lookup Table Sequence
003A032B	ST	1	-	FilterLookupTableDescription	Filter Lookup Table Description
003A032C	SQ	1	-	FrequencyEncodingCodeSequence	Frequency Encoding Code Sequence
003A032D	SQ	1	-	MagnitudeEncodingCodeSequence	Magnitude Encoding Code Sequence
003A032E	OD	1	-	FilterLookupTableData	Filter Lookup Table Data
00400001	AE	1-n	-	ScheduledStationAETitle	Scheduled Station AE Title
00400002	DA	1	-	ScheduledProcedureStepStartDate	Scheduled Procedure Step Start Date
00400003	TM	1	-	ScheduledProcedureStepStartTime	Scheduled Procedure Step Start Time
00400004	DA	1	-	ScheduledProcedureStepEndDate	Scheduled Procedure Step End Date
00400005	TM	1	-	ScheduledProcedureStepEndTime	Scheduled Procedure Step End Time
00400006	PN	1	-	ScheduledPerformingPhysicianName	Scheduled Performing Physician's Name
00400007	LO	1	-	ScheduledProcedureStepDescription	Scheduled Procedure Step Description
00400008	SQ	1	-	ScheduledProtocolCodeSequence	Scheduled Protocol Code Sequence
00400009	SH	1	-	ScheduledProcedureStepID	Scheduled Procedure Step ID
0040000A	SQ	1	-	StageCodeSequence	Stage Code Sequence
0040000B	SQ	1	-	ScheduledPerformingPhysicianIdentificationSequence	Scheduled Performing Physician Identification Sequence
00400010	SH	1-n	-	ScheduledStationName	Scheduled Station Name
00400011	SH	1	-	ScheduledProcedureStepLocation	Scheduled Procedure Step Location
00400012	LO	1	-	PreMedication	Pre-Medication
00400020	CS	1	-	ScheduledProcedureStepStatus	Scheduled Procedure Step Status
00400026	SQ	1	-	OrderPlacerIdentifierSequence	Order Placer Identifier Sequence
00400027	SQ	1	-	OrderFillerIdentifierSequence	Order Filler Identifier Sequence
00400031	UT	1	-	LocalNamespaceEntityID	Local Namespace Entity ID
00400032	UT	1	-	UniversalEntityID	Universal Entity ID
00400033	CS	1	-	UniversalEntityIDType	Universal Entity ID Type
00400035	CS	1	-	IdentifierTypeCode	Identifier Type Code
00400036	SQ	1	-	AssigningFacilitySequence	Assigning Facility Sequence
00400039	SQ	1	-	AssigningJurisdictionCodeSequence	Assigning Jurisdiction Code Sequence
0040003A	SQ	1	-	AssigningAgencyOrDepartmentCodeSequence	Assigning Agency or Department Code Sequence
00400100	SQ	1	-	ScheduledProcedureStepSequence	Scheduled Procedure Step Sequence
00400220	SQ	1	-	ReferencedNonImageCompositeSOPInstanceSequence	Referenced Non-Image Composite SOP Instance Sequence
00400241	AE	1	-	PerformedStationAETitle	Performed Station AE Title
00400242	SH	1	-	PerformedStationName	Performed Station Name
00400243	SH	1	-	PerformedLocation	Performed Location
00400244	DA	1	-	PerformedProcedureStepStartDate	Performed Procedure Step Start Date
00400245	TM	1	-	PerformedProcedureStepStartTime	Performed Procedure Step Start Time
00400250	DA	1	-	PerformedProcedureStepEndDate	Performed Procedure Step End Date
00400251	TM	1	-	PerformedProcedureStepEndTime	Performed Procedure Step End Time
00400252	CS	1	-	PerformedProcedureStepStatus	Performed Procedure Step Status
00400253	SH	1	-	PerformedProcedureStepID	Performed Procedure Step ID
00400254	LO	1	-	PerformedProcedureStepDescription	Performed Procedure Step Description
00400255	LO	1	-	PerformedProcedureTypeDescription	Performed Procedure Type Description
00400260	SQ	1	-	PerformedProtocolCodeSequence	Performed Protocol Code Sequence
00400261	CS	1	-	PerformedProtocolType	Performed Protocol Type
00400270	SQ	1	-	ScheduledStepAttributesSequence	Scheduled Step Attributes Sequence
00400275	SQ	1	-	RequestAttributesSequence	Request Attributes Sequence
00400280	ST	1	-	CommentsOnThePerformedProcedureStep	Comments on the Performed Procedure Step
00400281	SQ	1	-	PerformedProcedureStepDiscontinuationReasonCodeSequence	Performed Procedure Step Discontinuation Reason Code Sequence
00400293	SQ	1	-	QuantitySequence	Quantity Sequence
00400294	DS	1	-	Quantity	Quantity
00400295	SQ	1	-	MeasuringUnitsSequence	Measuring Units Sequence
00400296	SQ	1	-	BillingItemSequence	Billing Item Sequence
00400300	US	1	R	TotalTimeOfFluoroscopy	Total Time of Fluoroscopy
00400301	US	1	R	TotalNumberOfExposures	Total Number of Exposures
00400302	US	1	-	EntranceDose	Entrance Dose
00400303	US	1-2	-	ExposedArea	Exposed Area
00400306	DS	1	-	DistanceSourceToEntrance	Distance Source to Entrance
00400307	DS	1	R	DistanceSourceToSupport	Distance Source to Support
0040030E	SQ	1	R	ExposureDoseSequence	Exposure Dose Sequence
00400310	ST	1	-	CommentsOnRadiationDose	Comments on Radiation Dose
00400312	DS	1	-	XRayOutput	X-Ray Output
00400314	DS	1	-	HalfValueLayer	Half Value Layer
00400316	DS	1	-	OrganDose	Organ Dose
00400318	CS	1	-	OrganExposed	Organ Exposed
00400320	SQ	1	-	BillingProcedureStepSequence	Billing Procedure Step Sequence
00400321	SQ	1	-	FilmConsumptionSequence	Film Consumption Sequence
00400324	SQ	1	-	BillingSuppliesAndDevicesSequence	Billing Supplies and Devices Sequence
00400330	SQ	1	R	ReferencedProcedureStepSequence	Referenced Procedure Step Sequence
00400340	SQ	1	-	PerformedSeriesSequence	Performed Series Sequence
00400400	LT	1	-	CommentsOnTheScheduledProcedureStep	Comments on the Scheduled Procedure Step
00400440	SQ	1	-	ProtocolContextSequence	Protocol Context Sequence
00400441	SQ	1	-	ContentItemModifierSequence	Content Item Modifier Sequence
00400500	SQ	1	-	ScheduledSpecimenSequence	Scheduled Specimen Sequence
0040050A	LO	1	R	SpecimenAccessionNumber	Specimen Accession Number
00400512	LO	1	-	ContainerIdentifier	Container Identifier
00400513	SQ	1	-	IssuerOfTheContainerIdentifierSequence	Issuer of the Container Identifier Sequence
00400515	SQ	1	-	AlternateContainerIdentifierSequence	Alternate Container Identifier Sequence
00400518	SQ	1	-	ContainerTypeCodeSequence	Container Type Code Sequence
0040051A	LO	1	-	ContainerDescription	Container Description
00400520	SQ	1	-	ContainerComponentSequence	Container Component Sequence
00400550	SQ	1	R	SpecimenSequence	Specimen Sequence
00400551	LO	1	-	SpecimenIdentifier	Specimen Identifier
00400552	SQ	1	R	SpecimenDescriptionSequenceTrial	Specimen Description Sequence (Trial)
00400553	ST	1	R	SpecimenDescriptionTrial	Specimen Description (Trial)
00400554	UI	1	-	SpecimenUID	Specimen UID
00400555	SQ	1	-	AcquisitionContextSequence	Acquisition Context Sequence
00400556	ST	1	-	AcquisitionContextDescription	Acquisition Context Description
00400560	SQ	1	-	SpecimenDescriptionSequence	Specimen Description Sequence
00400562	SQ	1	-	IssuerOfTheSpecimenIdentifierSequence	Issuer of the Specimen Identifier Sequence
0040059A	SQ	1	-	SpecimenTypeCodeSequence	Specimen Type Code Sequence
00400600	LO	1	-	SpecimenShortDescription	Specimen Short Description
00400602	UT	1	-	SpecimenDetailedDescription	Specimen Detailed Description
00400610	SQ	1	-	SpecimenPreparationSequence	Specimen Preparation Sequence
00400612	SQ	1	-	SpecimenPreparationStepContentItemSequence	Specimen Preparation Step Content Item Sequence
00400620	SQ	1	-	SpecimenLocalizationContentItemSequence	Specimen Localization Content Item Sequence
004006FA	LO	1	R	SlideIdentifier	Slide Identifier
00400710	SQ	1	-	WholeSlideMicroscopyImageFrameTypeSequence	Whole Slide Microscopy Image Frame Type Sequence
0040071A	SQ	1	-	ImageCenterPointCoordinatesSequence	Image Center Point Coordinates Sequence
0040072A	DS	1	-	XOffsetInSlideCoordinateSystem	X Offset in Slide Coordinate System
0040073A	DS	1	-	YOffsetInSlideCoordinateSystem	Y Offset in Slide Coordinate System
0040074A	DS	1	-	ZOffsetInSlideCoordinateSystem	Z Offset in Slide Coordinate System
004008D8	SQ	1	R	PixelSpacingSequence	Pixel Spacing Sequence
004008DA	SQ	1	R	CoordinateSystemAxisCodeSequence	Coordinate System Axis Code Sequence
004008EA	SQ	1	-	MeasurementUnitsCodeSequence	Measurement Units Code Sequence
004009F8	SQ	1	R	VitalStainCodeSequenceTrial	Vital Stain Code Sequence (Trial)
00401001	SH	1	-	RequestedProcedureID	Requested Procedure ID
00401002	LO	1	-	ReasonForTheRequestedProcedure	Reason for the Requested Procedure
00401003	SH	1	-	RequestedProcedurePriority	Requested Procedure Priority
00401004	LO	1	-	PatientTransportArrangements	Patient Transport Arrangements
00401005	LO	1	-	RequestedProcedureLocation	Requested Procedure Location
00401006	SH	1	R	PlacerOrderNumberProcedure	Placer Order Number / Procedure
00401007	SH	1	R	FillerOrderNumberProcedure	Filler Order Number / Procedure
00401008	LO	1	-	ConfidentialityCode	Confidentiality Code
00401009	SH	1	-	ReportingPriority	Reporting Priority
0040100A	SQ	1	-	ReasonForRequestedProcedureCodeSequence	Reason for Requested Procedure Code Sequence
00401010	PN	1-n	-	NamesOfIntendedRecipientsOfResults	Names of Intended Recipients of Results
00401011	SQ	1	-	IntendedRecipientsOfResultsIdentificationSequence	Intended Recipients of Results Identification Sequence
00401012	SQ	1	-	ReasonForPerformedProcedureCodeSequence	Reason For Performed Procedure Code Sequence
00401060	LO	1	R	RequestedProcedureDescriptionTrial	Requested Procedure Description (Trial)
00401101	SQ	1	-	PersonIdentificationCodeSequence	Person Identification Code Sequence
00401102	ST	1	-	PersonAddress	Person's Address
00401103	LO	1-n	-	PersonTelephoneNumbers	Person's Telephone Numbers
00401104	LT	1	-	PersonTelecomInformation	Person's Telecom Information
00401400	LT	1	-	RequestedProcedureComments	Requested Procedure Comments
00402001	LO	1	R	ReasonForTheImagingServiceRequest	Reason for the Imaging Service Request
00402004	DA	1	-	IssueDateOfImagingServiceRequest	Issue Date of Imaging Service Request
00402005	TM	1	-	IssueTimeOfImagingServiceRequest	Issue Time of Imaging Service Request
00402006	SH	1	R	PlacerOrderNumberImagingServiceRequestRetired	Placer Order Number / Imaging Service Request (Retired)
00402007	SH	1	R	FillerOrderNumberImagingServiceRequestRetired	Filler Order Number / Imaging Service Request (Retired)
00402008	PN	1	-	OrderEnteredBy	Order Entered By
00402009	SH	1	-	OrderEntererLocation	Order Enterer's Location
00402010	SH	1	-	OrderCallbackPhoneNumber	Order Callback Phone Number
00402011	LT	1	-	OrderCallbackTelecomInformation	Order Callback Telecom Information
00402016	LO	1	-	PlacerOrderNumberImagingServiceRequest	Placer Order Number / Imaging Service Request
00402017	LO	1	-	FillerOrderNumberImagingServiceRequest	Filler Order Number / Imaging Service Request
00402400	LT	1	-	ImagingServiceRequestComments	Imaging Service Request Comments
00403001	LO	1	-	ConfidentialityConstraintOnPatientDataDescription	Confidentiality Constraint on Patient Data Description
00404001	CS	1	R	GeneralPurposeScheduledProcedureStepStatus	General Purpose Scheduled Procedure Step Status
00404002	CS	1	R	GeneralPurposePerformedProcedureStepStatus	General Purpose Performed Procedure Step Status
00404003	CS	1	R	GeneralPurposeScheduledProcedureStepPriority	General Purpose Scheduled Procedure Step Priority
00404004	SQ	1	R	ScheduledProcessingApplicationsCodeSequence	Scheduled Processing Applications Code Sequence
00404005	DT	1	-	ScheduledProcedureStepStartDateTime	Scheduled Procedure Step Start DateTime
00404006	CS	1	R	MultipleCopiesFlag	Multiple Copies Flag
00404007	SQ	1	R	PerformedProcessingApplicationsCodeSequence	Performed Processing Applications Code Sequence
00404008	DT	1	-	ScheduledProcedureStepExpirationDateTime	Scheduled Procedure Step Expiration DateTime
00404009	SQ	1	-	HumanPerformerCodeSequence	Human Performer Code Sequence
00404010	DT	1	-	ScheduledProcedureStepModificationDateTime	Scheduled Procedure Step Modification DateTime
00404011	DT	1	-	ExpectedCompletionDateTime	Expected Completion DateTime
00404015	SQ	1	R	ResultingGeneralPurposePerformedProcedureStepsSequence	Resulting General Purpose Performed Procedure Steps Sequence
00404016	SQ	1	R	ReferencedGeneralPurposeScheduledProcedureStepSequence	Referenced General Purpose Scheduled Procedure Step Sequence
00404018	SQ	1	-	ScheduledWorkitemCodeSequence	Scheduled Workitem Code Sequence
00404019	SQ	1	-	PerformedWorkitemCodeSequence	Performed Workitem Code Sequence
00404020	CS	1	R	InputAvailabilityFlag	Input Availability Flag
00404021	SQ	1	-	InputInformationSequence	Input Information Sequence
00404022	SQ	1	R	RelevantInformationSequence	Relevant Information Sequence
00404023	UI	1	R	ReferencedGeneralPurposeScheduledProcedureStepTransactionUID	Referenced General Purpose Scheduled Procedure Step Transaction UID
00404025	SQ	1	-	ScheduledStationNameCodeSequence	Scheduled Station Name Code Sequence
00404026	SQ	1	-	ScheduledStationClassCodeSequence	Scheduled Station Class Code Sequence
00404027	SQ	1	-	ScheduledStationGeographicLocationCodeSequence	Scheduled Station Geographic Location Code Sequence
00404028	SQ	1	-	PerformedStationNameCodeSequence	Performed Station Name Code Sequence
00404029	SQ	1	-	PerformedStationClassCodeSequence	Performed Station Class Code Sequence
00404030	SQ	1	-	PerformedStationGeographicLocationCodeSequence	Performed Station Geographic Location Code Sequence
00404031	SQ	1	R	RequestedSubsequentWorkitemCodeSequence	Requested Subsequent Workitem Code Sequence
00404032	SQ	1	R	NonDICOMOutputCodeSequence	Non-DICOM Output Code Sequence
00404033	SQ	1	-	OutputInformationSequence	Output Information Sequence
00404034	SQ	1	-	ScheduledHumanPerformersSequence	Scheduled Human Performers Sequence
00404035	SQ	1	-	ActualHumanPerformersSequence	Actual Human Performers Sequence
00404036	LO	1	-	HumanPerformerOrganization	Human Performer's Organization
00404037	PN	1	-	HumanPerformerName	Human Performer's Name
00404040	CS	1	-	RawDataHandling	Raw Data Handling
00404041	CS	1	-	InputReadinessState	Input Readiness State
00404050	DT	1	-	PerformedProcedureStepStartDateTime	Performed Procedure Step Start DateTime
00404051	DT	1	-	PerformedProcedureStepEndDateTime	Performed Procedure Step End DateTime
00404052	DT	1	-	ProcedureStepCancellationDateTime	Procedure Step Cancellation DateTime
00404070	SQ	1	-	OutputDestinationSequence	Output Destination Sequence
00404071	SQ	1	-	DICOMStorageSequence	DICOM Storage Sequence
00404072	SQ	1	-	STOWRSStorageSequence	STOW-RS Storage Sequence
00404073	UR	1	-	StorageURL	Storage URL
00404074	SQ	1	-	XDSStorageSequence	XDS Storage Sequence
00408302	DS	1	-	EntranceDoseInmGy	Entrance Dose in mGy
00408303	CS	1	-	EntranceDoseDerivation	Entrance Dose Derivation
00409092	SQ	1	-	ParametricMapFrameTypeSequence	Parametric Map Frame Type Sequence
00409094	SQ	1	-	ReferencedImageRealWorldValueMappingSequence	Referenced Image Real World Value Mapping Sequence
00409096	SQ	1	-	RealWorldValueMappingSequence	Real World Value Mapping Sequence
00409098	SQ	1	-	PixelValueMappingCodeSequence	Pixel Value Mapping Code Sequence
00409210	SH	1	-	LUTLabel	LUT Label
00409211	US/SS	1	-	RealWorldValueLastValueMapped	Real World Value Last Value Mapped
00409212	FD	1-n	-	RealWorldValueLUTData	Real World Value LUT Data
00409213	FD	1	-	DoubleFloatRealWorldValueLastValueMapped	Double Float Real World Value Last Value Mapped
00409214	FD	1	-	DoubleFloatRealWorldValueFirstValueMapped	Double Float Real World Value First Value Mapped
00409216	US/SS	1	-	RealWorldValueFirstValueMapped	Real World Value First Value Mapped
00409220	SQ	1	-	QuantityDefinitionSequence	Quantity Definition Sequence
00409224	FD	1	-	RealWorldValueIntercept	Real World Value Intercept
00409225	FD	1	-	RealWorldValueSlope	Real World Value Slope
0040A007	CS	1	R	FindingsFlagTrial	Findings Flag (Trial)
0040A010	CS	1	-	RelationshipType	Relationship Type
0040A020	SQ	1	R	FindingsSequenceTrial	Findings Sequence (Trial)
0040A021	UI	1	R	FindingsGroupUIDTrial	Findings Group UID (Trial)
0040A022	UI	1	R	ReferencedFindingsGroupUIDTrial	Referenced Findings Group UID (Trial)
0040A023	DA	1	R	FindingsGroupRecordingDateTrial	Findings Group Recording Date (Trial)
0040A024	TM	1	R	FindingsGroupRecordingTimeTrial	Findings Group Recording Time (Trial)
0040A026	SQ	1	R	FindingsSourceCategoryCodeSequenceTrial	Findings Source Category Code Sequence (Trial)
0040A027	LO	1	-	VerifyingOrganization	Verifying Organization
0040A028	SQ	1	R	DocumentingOrganizationIdentifierCodeSequenceTrial	Documenting Organization Identifier Code Sequence (Trial)
0040A030	DT	1	-	VerificationDateTime	Verification DateTime
0040A032	DT	1	-	ObservationDateTime	Observation DateTime
0040A033	DT	1	-	ObservationStartDateTime	Observation Start DateTime
0040A040	CS	1	-	ValueType	Value Type
0040A043	SQ	1	-	ConceptNameCodeSequence	Concept Name Code Sequence
0040A047	LO	1	R	MeasurementPrecisionDescriptionTrial	Measurement Precision Description (Trial)
0040A050	CS	1	-	ContinuityOfContent	Continuity Of Content
0040A057	CS	1-n	R	UrgencyOrPriorityAlertsTrial	Urgency or Priority Alerts (Trial)
0040A060	LO	1	R	SequencingIndicatorTrial	Sequencing Indicator (Trial)
0040A066	SQ	1	R	DocumentIdentifierCodeSequenceTrial	Document Identifier Code Sequence (Trial)
0040A067	PN	1	R	DocumentAuthorTrial	Document Author (Trial)
0040A068	SQ	1	R	DocumentAuthorIdentifierCodeSequenceTrial	Document Author Identifier Code Sequence (Trial)
0040A070	SQ	1	R	IdentifierCodeSequenceTrial	Identifier Code Sequence (Trial)
0040A073	SQ	1	-	VerifyingObserverSequence	Verifying Observer Sequence
0040A074	OB	1	R	ObjectBinaryIdentifierTrial	Object Binary Identifier (Trial)
0040A075	PN	1	-	VerifyingObserverName	Verifying Observer Name
0040A076	SQ	1	R	DocumentingObserverIdentifierCodeSequenceTrial	Documenting Observer Identifier Code Sequence (Trial)
0040A078	SQ	1	-	AuthorObserverSequence	Author Observer Sequence
0040A07A	SQ	1	-	ParticipantSequence	Participant Sequence
0040A07C	SQ	1	-	CustodialOrganizationSequence	Custodial Organization Sequence
0040A080	CS	1	-	ParticipationType	Participation Type
0040A082	DT	1	-	ParticipationDateTime	Participation DateTime
0040A084	CS	1	-	ObserverType	Observer Type
0040A085	SQ	1	R	ProcedureIdentifierCodeSequenceTrial	Procedure Identifier Code Sequence (Trial)
0040A088	SQ	1	-	VerifyingObserverIdentificationCodeSequence	Verifying Observer Identification Code Sequence
0040A089	OB	1	R	ObjectDirectoryBinaryIdentifierTrial	Object Directory Binary Identifier (Trial)
0040A090	SQ	1	R	EquivalentCDADocumentSequence	Equivalent CDA Document Sequence
0040A0B0	US	2-2n	-	ReferencedWaveformChannels	Referenced Waveform Channels
0040A110	DA	1	R	DateOfDocumentOrVerbalTransactionTrial	Date of Document or Verbal Transaction (Trial)
0040A112	TM	1	R	TimeOfDocumentCreationOrVerbalTransactionTrial	Time of Document Creation or Verbal Transaction (Trial)
0040A120	DT	1	-	DateTime	DateTime
0040A121	DA	1	-	Date	Date
0040A122	TM	1	-	Time	Time
0040A123	PN	1	-	PersonName	Person Name
0040A124	UI	1	-	UID	UID
0040A125	CS	2	R	ReportStatusIDTrial	Report Status ID (Trial)
0040A130	CS	1	-	TemporalRangeType	Temporal Range Type
0040A132	UL	1-n	-	ReferencedSamplePositions	Referenced Sample Positions
0040A136	US	1-n	R	ReferencedFrameNumbers	Referenced Frame Numbers
0040A138	DS	1-n	-	ReferencedTimeOffsets	Referenced Time Offsets
0040A13A	DT	1-n	-	ReferencedDateTime	Referenced DateTime
0040A160	UT	1	-	TextValue	Text Value
0040A161	FD	1-n	-	FloatingPointValue	Floating Point Value
0040A162	SL	1-n	-	RationalNumeratorValue	Rational Numerator Value
0040A163	UL	1-n	-	RationalDenominatorValue	Rational Denominator Value
0040A167	SQ	1	R	ObservationCategoryCodeSequenceTrial	Observation Category Code Sequence (Trial)
0040A168	SQ	1	-	ConceptCodeSequence	Concept Code Sequence
0040A16A	ST	1	R	BibliographicCitationTrial	Bibliographic Citation (Trial)
0040A170	SQ	1	-	PurposeOfReferenceCodeSequence	Purpose of Reference Code Sequence
0040A171	UI	1	-	ObservationUID	Observation UID
0040A172	UI	1	R	ReferencedObservationUIDTrial	Referenced Observation UID (Trial)
0040A173	CS	1	R	ReferencedObservationClassTrial	Referenced Observation Class (Trial)
0040A174	CS	1	R	ReferencedObjectObservationClassTrial	Referenced Object Observation Class (Trial)
0040A180	US	1	-	AnnotationGroupNumber	Annotation Group Number
0040A192	DA	1	R	ObservationDateTrial	Observation Date (Trial)
0040A193	TM	1	R	ObservationTimeTrial	Observation Time (Trial)
0040A194	CS	1	R	MeasurementAutomationTrial	Measurement Automation (Trial)
0040A195	SQ	1	-	ModifierCodeSequence	Modifier Code Sequence
0040A224	ST	1	R	IdentificationDescriptionTrial	Identification Description (Trial)
0040A290	CS	1	R	CoordinatesSetGeometricTypeTrial	Coordinates Set Geometric Type (Trial)
0040A296	SQ	1	R	AlgorithmCodeSequenceTrial	Algorithm Code Sequence (Trial)
0040A297	ST	1	R	AlgorithmDescriptionTrial	Algorithm Description (Trial)
0040A29A	SL	2-2n	R	PixelCoordinatesSetTrial	Pixel Coordinates Set (Trial)
0040A300	SQ	1	-	MeasuredValueSequence	Measured Value Sequence
0040A301	SQ	1	-	NumericValueQualifierCodeSequence	Numeric Value Qualifier Code Sequence
0040A307	PN	1	R	CurrentObserverTrial	Current Observer (Trial)
0040A30A	DS	1-n	-	NumericValue	Numeric Value
0040A313	SQ	1	R	ReferencedAccessionSequenceTrial	Referenced Accession Sequence (Trial)
0040A33A	ST	1	R	ReportStatusCommentTrial	Report Status Comment (Trial)
0040A340	SQ	1	R	ProcedureContextSequenceTrial	Procedure Context Sequence (Trial)
0040A352	PN	1	R	VerbalSourceTrial	Verbal Source (Trial)
0040A353	ST	1	R	AddressTrial	Address (Trial)
0040A354	LO	1	R	TelephoneNumberTrial	Telephone Number (Trial)
0040A358	SQ	1	R	VerbalSourceIdentifierCodeSequenceTrial	Verbal Source Identifier Code Sequence (Trial)
0040A360	SQ	1	-	PredecessorDocumentsSequence	Predecessor Documents Sequence
0040A370	SQ	1	-	ReferencedRequestSequence	Referenced Request Sequence
0040A372	SQ	1	-	PerformedProcedureCodeSequence	Performed Procedure Code Sequence
0040A375	SQ	1	-	CurrentRequestedProcedureEvidenceSequence	Current Requested Procedure Evidence Sequence
0040A380	SQ	1	R	ReportDetailSequenceTrial	Report Detail Sequence (Trial)
0040A385	SQ	1	-	PertinentOtherEvidenceSequence	Pertinent Other Evidence Sequence
0040A390	SQ	1	-	HL7StructuredDocumentReferenceSequence	HL7 Structured Document Reference Sequence
0040A402	UI	1	R	ObservationSubjectUIDTrial	Observation Subject UID (Trial)
0040A403	CS	1	R	ObservationSubjectClassTrial	Observation Subject Class (Trial)
0040A404	SQ	1	R	ObservationSubjectTypeCodeSequenceTrial	Observation Subject Type Code Sequence (Trial)
0040A491	CS	1	-	CompletionFlag	Completion Flag
0040A492	LO	1	-	CompletionFlagDescription	Completion Flag Description
0040A493	CS	1	-	VerificationFlag	Verification Flag
0040A494	CS	1	-	ArchiveRequested	Archive Requested
0040A496	CS	1	-	PreliminaryFlag	Preliminary Flag
0040A504	SQ	1	-	ContentTemplateSequence	Content Template Sequence
0040A525	SQ	1	-	IdenticalDocumentsSequence	Identical Documents Sequence
0040A600	CS	1	R	ObservationSubjectContextFlagTrial	Observation Subject Context Flag (Trial)
0040A601	CS	1	R	ObserverContextFlagTrial	Observer Context Flag (Trial)
0040A603	CS	1	R	ProcedureContextFlagTrial	Procedure Context Flag (Trial)
0040A730	SQ	1	-	ContentSequence	Content Sequence
0040A731	SQ	1	R	RelationshipSequenceTrial	Relationship Sequence (Trial)
0040A732	SQ	1	R	RelationshipTypeCodeSequenceTrial	Relationship Type Code Sequence (Trial)
0040A744	SQ	1	R	LanguageCodeSequenceTrial	Language Code Sequence (Trial)
0040A801	SQ	1	-	TabulatedValuesSequence	Tabulated Values Sequence
0040A802	UL	1	-	NumberOfTableRows	Number of Table Rows
0040A803	UL	1	-	NumberOfTableColumns	Number of Table Columns
0040A804	UL	1	-	TableRowNumber	Table Row Number
0040A805	UL	1	-	TableColumnNumber	Table Column Number
0040A806	SQ	1	-	TableRowDefinitionSequence	Table Row Definition Sequence
0040A807	SQ	1	-	TableColumnDefinitionSequence	Table Column Definition Sequence
0040A808	SQ	1	-	CellValuesSequence	Cell Values Sequence
0040A992	ST	1	R	UniformResourceLocatorTrial	Uniform Resource Locator (Trial)
0040B020	SQ	1	-	WaveformAnnotationSequence	Waveform Annotation Sequence
0040DB00	CS	1	-	TemplateIdentifier	Template Identifier
0040DB06	DT	1	R	TemplateVersion	Template Version
0040DB07	DT	1	R	TemplateLocalVersion	Template Local Version
0040DB0B	CS	1	R	TemplateExtensionFlag	Template Extension Flag
0040DB0C	UI	1	R	TemplateExtensionOrganizationUID	Template Extension Organization UID
0040DB0D	UI	1	R	TemplateExtensionCreatorUID	Template Extension Creator UID
0040DB73	UL	1-n	-	ReferencedContentItemIdentifier	Referenced Content Item Identifier
0040E001	ST	1	-	HL7InstanceIdentifier	HL7 Instance Identifier
0040E004	DT	1	-	HL7DocumentEffectiveTime	HL7 Document Effective Time
0040E006	SQ	1	-	HL7DocumentTypeCodeSequence	HL7 Document Type Code Sequence
0040E008	SQ	1	-	DocumentClassCodeSequence	Document Class Code Sequence
0040E010	UR	1	-	RetrieveURI	Retrieve URI
0040E011	UI	1	-	RetrieveLocationUID	Retrieve Location UID
0040E020	CS	1	-	TypeOfInstances	Type of Instances
0040E021	SQ	1	-	DICOMRetrievalSequence	DICOM Retrieval Sequence
0040E022	SQ	1	-	DICOMMediaRetrievalSequence	DICOM Media Retrieval Sequence
0040E023	SQ	1	-	WADORetrievalSequence	WADO Retrieval Sequence
0040E024	SQ	1	-	XDSRetrievalSequence	XDS Retrieval Sequence
0040E025	SQ	1	-	WADORSRetrievalSequence	WADO-RS Retrieval Sequence
0040E030	UI	1	-	RepositoryUniqueID	Repository Unique ID
0040E031	UI	1	-	HomeCommunityID	Home Community ID
00420010	ST	1	-	DocumentTitle	Document Title
00420011	OB	1	-	EncapsulatedDocument	Encapsulated Document
00420012	LO	1	-	MIMETypeOfEncapsulatedDocument	MIME Type of Encapsulated Document
00420013	SQ	1	-	SourceInstanceSequence	Source Instance Sequence
00420014	LO	1-n	-	ListOfMIMETypes	List of MIME Types
00420015	UL	1	-	EncapsulatedDocumentLength	Encapsulated Document Length
00440001	ST	1	-	ProductPackageIdentifier	Product Package Identifier
00440002	CS	1	-	SubstanceAdministrationApproval	Substance Administration Approval
00440003	LT	1	-	ApprovalStatusFurtherDescription	Approval Status Further Description
00440004	DT	1	-	ApprovalStatusDateTime	Approval Status DateTime
00440007	SQ	1	-	ProductTypeCodeSequence	Product Type Code Sequence
00440008	LO	1-n	-	ProductName	Product Name
00440009	LT	1	-	ProductDescription	Product Description
0044000A	LO	1	-	ProductLotIdentifier	Product Lot Identifier
0044000B	DT	1	-	ProductExpirationDateTime	Product Expiration DateTime
00440010	DT	1	-	SubstanceAdministrationDateTime	Substance Administration DateTime
00440011	LO	1	-	SubstanceAdministrationNotes	Substance Administration Notes
00440012	LO	1	-	SubstanceAdministrationDeviceID	Substance Administration Device ID
00440013	SQ	1	-	ProductParameterSequence	Product Parameter Sequence
00440019	SQ	1	-	SubstanceAdministrationParameterSequence	Substance Administration Parameter Sequence
00440100	SQ	1	-	ApprovalSequence	Approval Sequence
00440101	SQ	1	-	AssertionCodeSequence	Assertion Code Sequence
00440102	UI	1	-	AssertionUID	Assertion UID
00440103	SQ	1	-	AsserterIdentificationSequence	Asserter Identification Sequence
00440104	DT	1	-	AssertionDateTime	Assertion DateTime
00440105	DT	1	-	AssertionExpirationDateTime	Assertion Expiration DateTime
00440106	UT	1	-	AssertionComments	Assertion Comments
00440107	SQ	1	-	RelatedAssertionSequence	Related Assertion Sequence
00440108	UI	1	-	ReferencedAssertionUID	Referenced Assertion UID
00440109	SQ	1	-	ApprovalSubjectSequence	Approval Subject Sequence
0044010A	SQ	1	-	OrganizationalRoleCodeSequence	Organizational Role Code Sequence
00460012	LO	1	-	LensDescription	Lens Description
00460014	SQ	1	-	RightLensSequence	Right Lens Sequence
00460015	SQ	1	-	LeftLensSequence	Left Lens Sequence
00460016	SQ	1	-	UnspecifiedLateralityLensSequence	Unspecified Laterality Lens Sequence
00460018	SQ	1	-	CylinderSequence	Cylinder Sequence
00460028	SQ	1	-	PrismSequence	Prism Sequence
00460030	FD	1	-	HorizontalPrismPower	Horizontal Prism Power
00460032	CS	1	-	HorizontalPrismBase	Horizontal Prism Base
00460034	FD	1	-	VerticalPrismPower	Vertical Prism Power
00460036	CS	1	-	VerticalPrismBase	Vertical Prism Base
00460038	CS	1	-	LensSegmentType	Lens Segment Type
00460040	FD	1	-	OpticalTransmittance	Optical Transmittance
00460042	FD	1	-	ChannelWidth	Channel Width
00460044	FD	1	-	PupilSize	Pupil Size
00460046	FD	1	-	CornealSize	Corneal Size
00460047	SQ	1	-	CornealSizeSequence	Corneal Size Sequence
00460050	SQ	1	-	AutorefractionRightEyeSequence	Autorefraction Right Eye Sequence
00460052	SQ	1	-	AutorefractionLeftEyeSequence	Autorefraction Left Eye Sequence
00460060	FD	1	-	DistancePupillaryDistance	Distance Pupillary Distance
00460062	FD	1	-	NearPupillaryDistance	Near Pupillary Distance
00460063	FD	1	-	IntermediatePupillaryDistance	Intermediate Pupillary Distance
00460064	FD	1	-	OtherPupillaryDistance	Other Pupillary Distance
00460070	SQ	1	-	KeratometryRightEyeSequence	Keratometry Right Eye Sequence
00460071	SQ	1	-	KeratometryLeftEyeSequence	Keratometry Left Eye Sequence
00460074	SQ	1	-	SteepKeratometricAxisSequence	Steep Keratometric Axis Sequence
00460075	FD	1	-	RadiusOfCurvature	Radius of Curvature
00460076	FD	1	-	KeratometricPower	Keratometric Power
00460077	FD	1	-	KeratometricAxis	Keratometric Axis
00460080	SQ	1	-	FlatKeratometricAxisSequence	Flat Keratometric Axis Sequence
00460092	CS	1	-	BackgroundColor	Background Color
00460094	CS	1	-	Optotype	Optotype
00460095	CS	1	-	OptotypePresentation	Optotype Presentation
00460097	SQ	1	-	SubjectiveRefractionRightEyeSequence	Subjective Refraction Right Eye Sequence
00460098	SQ	1	-	SubjectiveRefractionLeftEyeSequence	Subjective Refraction Left Eye Sequence
00460100	SQ	1	-	AddNearSequence	Add Near Sequence
00460101	SQ	1	-	AddIntermediateSequence	Add Intermediate Sequence
00460102	SQ	1	-	AddOtherSequence	Add Other Sequence
00460104	FD	1	-	AddPower	Add Power
00460106	FD	1	-	ViewingDistance	Viewing Distance
00460110	SQ	1	-	CorneaMeasurementsSequence	Cornea Measurements Sequence
00460111	SQ	1	-	SourceOfCorneaMeasurementDataCodeSequence	Source of Cornea Measurement Data Code Sequence
00460112	SQ	1	-	SteepCornealAxisSequence	Steep Corneal Axis Sequence
00460113	SQ	1	-	FlatCornealAxisSequence	Flat Corneal Axis Sequence
00460114	FD	1	-	CornealPower	Corneal Power
00460115	FD	1	-	CornealAxis	Corneal Axis
00460116	SQ	1	-	CorneaMeasurementMethodCodeSequence	Cornea Measurement Method Code Sequence
00460117	FL	1	-	RefractiveIndexOfCornea	Refractive Index of Cornea
00460118	FL	1	-	RefractiveIndexOfAqueousHumor	Refractive Index of Aqueous Humor
00460121	SQ	1	-	VisualAcuityTypeCodeSequence	Visual Acuity Type Code Sequence
00460122	SQ	1	-	VisualAcuityRightEyeSequence	Visual Acuity Right Eye Sequence
00460123	SQ	1	-	VisualAcuityLeftEyeSequence	Visual Acuity Left Eye Sequence
00460124	SQ	1	-	VisualAcuityBothEyesOpenSequence	Visual Acuity Both Eyes Open Sequence
00460125	CS	1	-	ViewingDistanceType	Viewing Distance Type
00460135	SS	2	-	VisualAcuityModifiers	Visual Acuity Modifiers
00460137	FD	1	-	DecimalVisualAcuity	Decimal Visual Acuity
00460139	LO	1	-	OptotypeDetailedDefinition	Optotype Detailed Definition
00460145	SQ	1	-	ReferencedRefractiveMeasurementsSequence	Referenced Refractive Measurements Sequence
00460146	FD	1	-	SpherePower	Sphere Power
00460147	FD	1	-	CylinderPower	Cylinder Power
00460201	CS	1	-	CornealTopographySurface	Corneal Topography Surface
00460202	FL	2	-	CornealVertexLocation	Corneal Vertex Location
00460203	FL	1	-	PupilCentroidXCoordinate	Pupil Centroid X-Coordinate
00460204	FL	1	-	PupilCentroidYCoordinate	Pupil Centroid Y-Coordinate
00460205	FL	1	-	EquivalentPupilRadius	Equivalent Pupil Radius
00460207	SQ	1	-	CornealTopographyMapTypeCodeSequence	Corneal Topography Map Type Code Sequence
00460208	IS	2-2n	-	VerticesOfTheOutlineOfPupil	Vertices of the Outline of Pupil
00460210	SQ	1	-	CornealTopographyMappingNormalsSequence	Corneal Topography Mapping Normals Sequence
00460211	SQ	1	-	MaximumCornealCurvatureSequence	Maximum Corneal Curvature Sequence
00460212	FL	1	-	MaximumCornealCurvature	Maximum Corneal Curvature
00460213	FL	2	-	MaximumCornealCurvatureLocation	Maximum Corneal Curvature Location
00460215	SQ	1	-	MinimumKeratometricSequence	Minimum Keratometric Sequence
00460218	SQ	1	-	SimulatedKeratometricCylinderSequence	Simulated Keratometric Cylinder Sequence
00460220	FL	1	-	AverageCornealPower	Average Corneal Power
00460224	FL	1	-	CornealISValue	Corneal I-S Value
00460227	FL	1	-	AnalyzedArea	Analyzed Area
00460230	FL	1	-	SurfaceRegularityIndex	Surface Regularity Index
00460232	FL	1	-	SurfaceAsymmetryIndex	Surface Asymmetry Index
00460234	FL	1	-	CornealEccentricityIndex	Corneal Eccentricity Index
00460236	FL	1	-	KeratoconusPredictionIndex	Keratoconus Prediction Index
00460238	FL	1	-	DecimalPotentialVisualAcuity	Decimal Potential Visual Acuity
00460242	CS	1	-	CornealTopographyMapQualityEvaluation	Corneal Topography Map Quality Evaluation
00460244	SQ	1	-	SourceImageCornealProcessedDataSequence	Source Image Corneal Processed Data Sequence
00460247	FL	3	-	CornealPointLocation	Corneal Point Location
00460248	CS	1	-	CornealPointEstimated	Corneal Point Estimated
00460249	FL	1	-	AxialPower	Axial Power
00460250	FL	1	-	TangentialPower	Tangential Power
00460251	FL	1	-	RefractivePower	Refractive Power
00460252	FL	1	-	RelativeElevation	Relative Elevation
00460253	FL	1	-	CornealWavefront	Corneal Wavefront
00480001	FL	1	-	ImagedVolumeWidth	Imaged Volume Width
00480002	FL	1	-	ImagedVolumeHeight	Imaged Volume Height
00480003	FL	1	-	ImagedVolumeDepth	Imaged Volume Depth
00480006	UL	1	-	TotalPixelMatrixColumns	Total Pixel Matrix Columns
00480007	UL	1	-	TotalPixelMatrixRows	Total Pixel Matrix Rows
00480008	SQ	1	-	TotalPixelMatrixOriginSequence	Total Pixel Matrix Origin Sequence
00480010	CS	1	-	SpecimenLabelInImage	Specimen Label in Image
00480011	CS	1	-	FocusMethod	Focus Method
00480012	CS	1	-	ExtendedDepthOfField	Extended Depth of Field
00480013	US	1	-	NumberOfFocalPlanes	Number of Focal Planes
00480014	FL	1	-	DistanceBetweenFocalPlanes	Distance Between Focal Planes
00480015	US	3	-	RecommendedAbsentPixelCIELabValue	Recommended Absent Pixel CIELab Value
00480100	SQ	1	-	IlluminatorTypeCodeSequence	Illuminator Type Code Sequence
00480102	DS	6	-	ImageOrientationSlide	Image Orientation (Slide)
00480105	SQ	1	-	OpticalPathSequence	Optical Path Sequence
00480106	SH	1	-	OpticalPathIdentifier	Optical Path Identifier
00480107	ST	1	-	OpticalPathDescription	Optical Path Description
00480108	SQ	1	-	IlluminationColorCodeSequence	Illumination Color Code Sequence
00480110	SQ	1	-	SpecimenReferenceSequence	Specimen Reference Sequence
00480111	DS	1	-	CondenserLensPower	Condenser Lens Power
00480112	DS	1	-	ObjectiveLensPower	Objective Lens Power
00480113	DS	1	-	ObjectiveLensNumericalAperture	Objective Lens Numerical Aperture
00480114	CS	1	-	ConfocalMode	Confocal Mode
00480115	CS	1	-	TissueLocation	Tissue Location
00480116	SQ	1	-	ConfocalMicroscopyImageFrameTypeSequence	Confocal Microscopy Image Frame Type Sequence
00480117	FD	1	-	ImageAcquisitionDepth	Image Acquisition Depth
00480120	SQ	1	-	PaletteColorLookupTableSequence	Palette Color Lookup Table Sequence
00480200	SQ	1	R	ReferencedImageNavigationSequence	Referenced Image Navigation Sequence
00480201	US	2	R	TopLeftHandCornerOfLocalizerArea	Top Left Hand Corner of Localizer Area
00480202	US	2	R	BottomRightHandCornerOfLocalizerArea	Bottom Right Hand Corner of Localizer Area
00480207	SQ	1	-	OpticalPathIdentificationSequence	Optical Path Identification Sequence
0048021A	SQ	1	-	PlanePositionSlideSequence	Plane Position (Slide) Sequence
0048021E	SL	1	-	ColumnPositionInTotalImagePixelMatrix	Column Position In Total Image Pixel Matrix
0048021F	SL	1	-	RowPositionInTotalImagePixelMatrix	Row Position In Total Image Pixel Matrix
00480301	CS	1	-	PixelOriginInterpretation	Pixel Origin Interpretation
00480302	UL	1	-	NumberOfOpticalPaths	Number of Optical Paths
00480303	UL	1	-	TotalPixelMatrixFocalPlanes	Total Pixel Matrix Focal Planes
00500004	CS	1	-	CalibrationImage	Calibration Image
00500010	SQ	1	-	DeviceSequence	Device Sequence
00500012	SQ	1	-	ContainerComponentTypeCodeSequence	Container Component Type Code Sequence
00500013	FD	1	-	ContainerComponentThickness	Container Component Thickness
00500014	DS	1	-	DeviceLength	Device Length
00500015	FD	1	-	ContainerComponentWidth	Container Component Width
00500016	DS	1	-	DeviceDiameter	Device Diameter
00500017	CS	1	-	DeviceDiameterUnits	Device Diameter Units
00500018	DS	1	-	DeviceVolume	Device Volume
00500019	DS	1	-	InterMarkerDistance	Inter-Marker Distance
0050001A	CS	1	-	ContainerComponentMaterial	Container Component Material
0050001B	LO	1	-	ContainerComponentID	Container Component ID
0050001C	FD	1	-	ContainerComponentLength	Container Component Length
0050001D	FD	1	-	ContainerComponentDiameter	Container Component Diameter
0050001E	LO	1	-	ContainerComponentDescription	Container Component Description
00500020	LO	1	-	DeviceDescription	Device Description
00500021	ST	1	-	LongDeviceDescription	Long Device Description
00520001	FL	1	-	ContrastBolusIngredientPercentByVolume	Contrast/Bolus Ingredient Percent by Volume
00520002	FD	1	-	OCTFocalDistance	OCT Focal Distance
00520003	FD	1	-	BeamSpotSize	Beam Spot Size
00520004	FD	1	-	EffectiveRefractiveIndex	Effective Refractive Index
00520006	CS	1	-	OCTAcquisitionDomain	OCT Acquisition Domain
00520007	FD	1	-	OCTOpticalCenterWavelength	OCT Optical Center Wavelength
00520008	FD	1	-	AxialResolution	Axial Resolution
00520009	FD	1	-	RangingDepth	Ranging Depth
00520011	FD	1	-	ALineRate	A-line Rate
00520012	US	1	-	ALinesPerFrame	A-lines Per Frame
00520013	FD	1	-	CatheterRotationalRate	Catheter Rotational Rate
00520014	FD	1	-	ALinePixelSpacing	A-line Pixel Spacing
00520016	SQ	1	-	ModeOfPercutaneousAccessSequence	Mode of Percutaneous Access Sequence
00520025	SQ	1	-	IntravascularOCTFrameTypeSequence	Intravascular OCT Frame Type Sequence
00520026	CS	1	-	OCTZOffsetApplied	OCT Z Offset Applied
00520027	SQ	1	-	IntravascularFrameContentSequence	Intravascular Frame Content Sequence
00520028	FD	1	-	IntravascularLongitudinalDistance	Intravascular Longitudinal Distance
00520029	SQ	1	-	IntravascularOCTFrameContentSequence	Intravascular OCT Frame Content Sequence
00520030	SS	1	-	OCTZOffsetCorrection	OCT Z Offset Correction
00520031	CS	1	-	CatheterDirectionOfRotation	Catheter Direction of Rotation
00520033	FD	1	-	SeamLineLocation	Seam Line Location
00520034	FD	1	-	FirstALineLocation	First A-line Location
00520036	US	1	-	SeamLineIndex	Seam Line Index
00520038	US	1	-	NumberOfPaddedALines	Number of Padded A-lines
00520039	CS	1	-	InterpolationType	Interpolation Type
0052003A	CS	1	-	RefractiveIndexApplied	Refractive Index Applied
00540010	US	1-n	-	EnergyWindowVector	Energy Window Vector
00540011	US	1	-	NumberOfEnergyWindows	Number of Energy Windows
00540012	SQ	1	-	EnergyWindowInformationSequence	Energy Window Information Sequence
00540013	SQ	1	-	EnergyWindowRangeSequence	Energy Window Range Sequence
00540014	DS	1	-	EnergyWindowLowerLimit	Energy Window Lower Limit
00540015	DS	1	-	EnergyWindowUpperLimit	Energy Window Upper Limit
00540016	SQ	1	-	RadiopharmaceuticalInformationSequence	Radiopharmaceutical Information Sequence
00540017	IS	1	-	ResidualSyringeCounts	Residual Syringe Counts
00540018	SH	1	-	EnergyWindowName	Energy Window Name
00540020	US	1-n	-	DetectorVector	Detector Vector
00540021	US	1	-	NumberOfDetectors	Number of Detectors
00540022	SQ	1	-	DetectorInformationSequence	Detector Information Sequence
00540030	US	1-n	-	PhaseVector	Phase Vector
00540031	US	1	-	NumberOfPhases	Number of Phases
00540032	SQ	1	-	PhaseInformationSequence	Phase Information Sequence
00540033	US	1	-	NumberOfFramesInPhase	Number of Frames in Phase
00540036	IS	1	-	PhaseDelay	Phase Delay
00540038	IS	1	-	PauseBetweenFrames	Pause Between Frames
00540039	CS	1	-	PhaseDescription	Phase Description
00540050	US	1-n	-	RotationVector	Rotation Vector
00540051	US	1	-	NumberOfRotations	Number of Rotations
00540052	SQ	1	-	RotationInformationSequence	Rotation Information Sequence
00540053	US	1	-	NumberOfFramesInRotation	Number of Frames in Rotation
00540060	US	1-n	-	RRIntervalVector	R-R Interval Vector
00540061	US	1	-	NumberOfRRIntervals	Number of R-R Intervals
00540062	SQ	1	-	GatedInformationSequence	Gated Information Sequence
00540063	SQ	1	-	DataInformationSequence	Data Information Sequence
00540070	US	1-n	-	TimeSlotVector	Time Slot Vector
00540071	US	1	-	NumberOfTimeSlots	Number of Time Slots
00540072	SQ	1	-	TimeSlotInformationSequence	Time Slot Information Sequence
00540073	DS	1	-	TimeSlotTime	Time Slot Time
00540080	US	1-n	-	SliceVector	Slice Vector
00540081	US	1	-	NumberOfSlices	Number of Slices
00540090	US	1-n	-	AngularViewVector	Angular View Vector
00540100	US	1-n	-	TimeSliceVector	Time Slice Vector
00540101	US	1	-	NumberOfTimeSlices	Number of Time Slices
00540200	DS	1	-	StartAngle	Start Angle
00540202	CS	1	-	TypeOfDetectorMotion	Type of Detector Motion
00540210	IS	1-n	-	TriggerVector	Trigger Vector
00540211	US	1	-	NumberOfTriggersInPhase	Number of Triggers in Phase
00540220	SQ	1	-	ViewCodeSequence	View Code Sequence
00540222	SQ	1	-	ViewModifierCodeSequence	View Modifier Code Sequence
00540300	SQ	1	-	RadionuclideCodeSequence	Radionuclide Code Sequence
00540302	SQ	1	-	AdministrationRouteCodeSequence	Administration Route Code Sequence
00540304	SQ	1	-	RadiopharmaceuticalCodeSequence	Radiopharmaceutical Code Sequence
00540306	SQ	1	-	CalibrationDataSequence	Calibration Data Sequence
00540308	US	1	-	EnergyWindowNumber	Energy Window Number
00540400	SH	1	-	ImageID	Image ID
00540410	SQ	1	-	PatientOrientationCodeSequence	Patient Orientation Code Sequence
00540412	SQ	1	-	PatientOrientationModifierCodeSequence	Patient Orientation Modifier Code Sequence
00540414	SQ	1	-	PatientGantryRelationshipCodeSequence	Patient Gantry Relationship Code Sequence
00540500	CS	1	-	SliceProgressionDirection	Slice Progression Direction
00540501	CS	1	-	ScanProgressionDirection	Scan Progression Direction
00541000	CS	2	-	SeriesType	Series Type
00541001	CS	1	-	Units	Units
00541002	CS	1	-	CountsSource	Counts Source
00541004	CS	1	-	ReprojectionMethod	Reprojection Method
00541006	CS	1	-	SUVType	SUV Type
00541100	CS	1	-	RandomsCorrectionMethod	Randoms Correction Method
00541101	LO	1	-	AttenuationCorrectionMethod	Attenuation Correction Method
00541102	CS	1	-	DecayCorrection	Decay Correction
00541103	LO	1	-	ReconstructionMethod	Reconstruction Method
00541104	LO	1	-	DetectorLinesOfResponseUsed	Detector Lines of Response Used
00541105	LO	1	-	ScatterCorrectionMethod	Scatter Correction Method
00541200	DS	1	-	AxialAcceptance	Axial Acceptance
00541201	IS	2	-	AxialMash	Axial Mash
00541202	IS	1	-	TransverseMash	Transverse Mash
00541203	DS	2	-	DetectorElementSize	Detector Element Size
00541210	DS	1	-	CoincidenceWindowWidth	Coincidence Window Width
00541220	CS	1-n	-	SecondaryCountsType	Secondary Counts Type
00541300	DS	1	-	FrameReferenceTime	Frame Reference Time
00541310	IS	1	-	PrimaryPromptsCountsAccumulated	Primary (Prompts) Counts Accumulated
00541311	IS	1-n	-	SecondaryCountsAccumulated	Secondary Counts Accumulated
00541320	DS	1	-	SliceSensitivityFactor	Slice Sensitivity Factor
00541321	DS	1	-	DecayFactor	Decay Factor
00541322	DS	1	-	DoseCalibrationFactor	Dose Calibration Factor
00541323	DS	1	-	ScatterFractionFactor	Scatter Fraction Factor
00541324	DS	1	-	DeadTimeFactor	Dead Time Factor
00541330	US	1	-	ImageIndex	Image Index
00541400	CS	1-n	R	CountsIncluded	Counts Included
00541401	CS	1	R	DeadTimeCorrectionFlag	Dead Time Correction Flag
00603000	SQ	1	-	HistogramSequence	Histogram Sequence
00603002	US	1	-	HistogramNumberOfBins	Histogram Number of Bins
00603004	US/SS	1	-	HistogramFirstBinValue	Histogram First Bin Value
00603006	US/SS	1	-	HistogramLastBinValue	Histogram Last Bin Value
00603008	US	1	-	HistogramBinWidth	Histogram Bin Width
00603010	LO	1	-	HistogramExplanation	Histogram Explanation
00603020	UL	1-n	-	HistogramData	Histogram Data
00620001	CS	1	-	SegmentationType	Segmentation Type
00620002	SQ	1	-	SegmentSequence	Segment Sequence
00620003	SQ	1	-	SegmentedPropertyCategoryCodeSequence	Segmented Property Category Code Sequence
00620004	US	1	-	SegmentNumber	Segment Number
00620005	LO	1	-	SegmentLabel	Segment Label
00620006	ST	1	-	SegmentDescription	Segment Description
00620007	SQ	1	-	SegmentationAlgorithmIdentificationSequence	Segmentation Algorithm Identification Sequence
00620008	CS	1	-	SegmentAlgorithmType	Segment Algorithm Type
00620009	LO	1-n	-	SegmentAlgorithmName	Segment Algorithm Name
0062000A	SQ	1	-	SegmentIdentificationSequence	Segment Identification Sequence
0062000B	US	1-n	-	ReferencedSegmentNumber	Referenced Segment Number
0062000C	US	1	-	RecommendedDisplayGrayscaleValue	Recommended Display Grayscale Value
0062000D	US	3	-	RecommendedDisplayCIELabValue	Recommended Display CIELab Value
0062000E	US	1	-	MaximumFractionalValue	Maximum Fractional Value
0062000F	SQ	1	-	SegmentedPropertyTypeCodeSequence	Segmented Property Type Code Sequence
00620010	CS	1	-	SegmentationFractionalType	Segmentation Fractional Type
00620011	SQ	1	-	SegmentedPropertyTypeModifierCodeSequence	Segmented Property Type Modifier Code Sequence
00620012	SQ	1	-	UsedSegmentsSequence	Used Segments Sequence
00620013	CS	1	-	SegmentsOverlap	Segments Overlap
00620020	UT	1	-	TrackingID	Tracking ID
00620021	UI	1	-	TrackingUID	Tracking UID
00640002	SQ	1	-	DeformableRegistrationSequence	Deformable Registration Sequence
00640003	UI	1	-	SourceFrameOfReferenceUID	Source Frame of Reference UID
00640005	SQ	1	-	DeformableRegistrationGridSequence	Deformable Registration Grid Sequence
00640007	UL	3	-	GridDimensions	Grid Dimensions
00640008	FD	3	-	GridResolution	Grid Resolution
00640009	OF	1	-	VectorGridData	Vector Grid Data
0064000F	SQ	1	-	PreDeformationMatrixRegistrationSequence	Pre Deformation Matrix Registration Sequence
00640010	SQ	1	-	PostDeformationMatrixRegistrationSequence	Post Deformation Matrix Registration Sequence
00660001	UL	1	-	NumberOfSurfaces	Number of Surfaces
00660002	SQ	1	-	SurfaceSequence	Surface Sequence
00660003	UL	1	-	SurfaceNumber	Surface Number
00660004	LT	1	-	SurfaceComments	Surface Comments
00660009	CS	1	-	SurfaceProcessing	Surface Processing
0066000A	FL	1	-	SurfaceProcessingRatio	Surface Processing Ratio
0066000B	LO	1	-	SurfaceProcessingDescription	Surface Processing Description
0066000C	FL	1	-	RecommendedPresentationOpacity	Recommended Presentation Opacity
0066000D	CS	1	-	RecommendedPresentationType	Recommended Presentation Type
0066000E	CS	1	-	FiniteVolume	Finite Volume
00660010	CS	1	-	Manifold	Manifold
00660011	SQ	1	-	SurfacePointsSequence	Surface Points Sequence
00660012	SQ	1	-	SurfacePointsNormalsSequence	Surface Points Normals Sequence
00660013	SQ	1	-	SurfaceMeshPrimitivesSequence	Surface Mesh Primitives Sequence
00660015	UL	1	-	NumberOfSurfacePoints	Number of Surface Points
00660016	OF	1	-	PointCoordinatesData	Point Coordinates Data
00660017	FL	3	-	PointPositionAccuracy	Point Position Accuracy
00660018	FL	1	-	MeanPointDistance	Mean Point Distance
00660019	FL	1	-	MaximumPointDistance	Maximum Point Distance
0066001A	FL	6	-	PointsBoundingBoxCoordinates	Points Bounding Box Coordinates
0066001B	FL	3	-	AxisOfRotation	Axis of Rotation
0066001C	FL	3	-	CenterOfRotation	Center of Rotation
0066001E	UL	1	-	NumberOfVectors	Number of Vectors
0066001F	US	1	-	VectorDimensionality	Vector Dimensionality
00660020	FL	1-n	-	VectorAccuracy	Vector Accuracy
00660021	OF	1	-	VectorCoordinateData	Vector Coordinate Data
00660022	OD	1	-	DoublePointCoordinatesData	Double Point Coordinates Data
00660023	OW	1	R	TrianglePointIndexList	Triangle Point Index List
00660024	OW	1	R	EdgePointIndexList	Edge Point Index List
00660025	OW	1	R	VertexPointIndexList	Vertex Point Index List
00660026	SQ	1	-	TriangleStripSequence	Triangle Strip Sequence
00660027	SQ	1	-	TriangleFanSequence	Triangle Fan Sequence
00660028	SQ	1	-	LineSequence	Line Sequence
00660029	OW	1	R	PrimitivePointIndexList	Primitive Point Index List
0066002A	UL	1	-	SurfaceCount	Surface Count
0066002B	SQ	1	-	ReferencedSurfaceSequence	Referenced Surface Sequence
0066002C	UL	1	-	ReferencedSurfaceNumber	Referenced Surface Number
0066002D	SQ	1	-	SegmentSurfaceGenerationAlgorithmIdentificationSequence	Segment Surface Generation Algorithm Identification Sequence
0066002E	SQ	1	-	SegmentSurfaceSourceInstanceSequence	Segment Surface Source Instance Sequence
0066002F	SQ	1	-	AlgorithmFamilyCodeSequence	Algorithm Family Code Sequence
00660030	SQ	1	-	AlgorithmNameCodeSequence	Algorithm Name Code Sequence
00660031	LO	1	-	AlgorithmVersion	Algorithm Version
00660032	LT	1	-	AlgorithmParameters	Algorithm Parameters
00660034	SQ	1	-	FacetSequence	Facet Sequence
00660035	SQ	1	-	SurfaceProcessingAlgorithmIdentificationSequence	Surface Processing Algorithm Identification Sequence
00660036	LO	1	-	AlgorithmName	Algorithm Name
00660037	FL	1	-	RecommendedPointRadius	Recommended Point Radius
00660038	FL	1	-	RecommendedLineThickness	Recommended Line Thickness
00660040	OL	1	-	LongPrimitivePointIndexList	Long Primitive Point Index List
00660041	OL	1	-	LongTrianglePointIndexList	Long Triangle Point Index List
00660042	OL	1	-	LongEdgePointIndexList	Long Edge Point Index List
00660043	OL	1	-	LongVertexPointIndexList	Long Vertex Point Index List
00660101	SQ	1	-	TrackSetSequence	Track Set Sequence
00660102	SQ	1	-	TrackSequence	Track Sequence
00660103	OW	1	-	RecommendedDisplayCIELabValueList	Recommended Display CIELab Value List
00660104	SQ	1	-	TrackingAlgorithmIdentificationSequence	Tracking Algorithm Identification Sequence
00660105	UL	1	-	TrackSetNumber	Track Set Number
00660106	LO	1	-	TrackSetLabel	Track Set Label
00660107	UT	1	-	TrackSetDescription	Track Set Description
00660108	SQ	1	-	TrackSetAnatomicalTypeCodeSequence	Track Set Anatomical Type Code Sequence
00660121	SQ	1	-	MeasurementsSequence	Measurements Sequence
00660124	SQ	1	-	TrackSetStatisticsSequence	Track Set Statistics Sequence
00660125	OF	1	-	FloatingPointValues	Floating Point Values
00660129	OL	1	-	TrackPointIndexList	Track Point Index List
00660130	SQ	1	-	TrackStatisticsSequence	Track Statistics Sequence
00660132	SQ	1	-	MeasurementValuesSequence	Measurement Values Sequence
00660133	SQ	1	-	DiffusionAcquisitionCodeSequence	Diffusion Acquisition Code Sequence
00660134	SQ	1	-	DiffusionModelCodeSequence	Diffusion Model Code Sequence
00686210	LO	1	-	ImplantSize	Implant Size
00686221	LO	1	-	ImplantTemplateVersion	Implant Template Version
00686222	SQ	1	-	ReplacedImplantTemplateSequence	Replaced Implant Template Sequence
00686223	CS	1	-	ImplantType	Implant Type
00686224	SQ	1	-	DerivationImplantTemplateSequence	Derivation Implant Template Sequence
00686225	SQ	1	-	OriginalImplantTemplateSequence	Original Implant Template Sequence
00686226	DT	1	-	EffectiveDateTime	Effective DateTime
00686230	SQ	1	-	ImplantTargetAnatomySequence	Implant Target Anatomy Sequence
00686260	SQ	1	-	InformationFromManufacturerSequence	Information From Manufacturer Sequence
00686265	SQ	1	-	NotificationFromManufacturerSequence	Notification From Manufacturer Sequence
00686270	DT	1	-	InformationIssueDateTime	Information Issue DateTime
00686280	ST	1	-	InformationSummary	Information Summary
006862A0	SQ	1	-	ImplantRegulatoryDisapprovalCodeSequence	Implant Regulatory Disapproval Code Sequence
006862A5	FD	1	-	OverallTemplateSpatialTolerance	Overall Template Spatial Tolerance
006862C0	SQ	1	-	HPGLDocumentSequence	HPGL Document Sequence
006862D0	US	1	-	HPGLDocumentID	HPGL Document ID
006862D5	LO	1	-	HPGLDocumentLabel	HPGL Document Label
006862E0	SQ	1	-	ViewOrientationCodeSequence	View Orientation Code Sequence
006862F0	SQ	1	-	ViewOrientationModifierCodeSequence	View Orientation Modifier Code Sequence
006862F2	FD	1	-	HPGLDocumentScaling	HPGL Document Scaling
00686300	OB	1	-	HPGLDocument	HPGL Document
00686310	US	1	-	HPGLContourPenNumber	HPGL Contour Pen Number
00686320	SQ	1	-	HPGLPenSequence	HPGL Pen Sequence
00686330	US	1	-	HPGLPenNumber	HPGL Pen Number
00686340	LO	1	-	HPGLPenLabel	HPGL Pen Label
00686345	ST	1	-	HPGLPenDescription	HPGL Pen Description
00686346	FD	2	-	RecommendedRotationPoint	Recommended Rotation Point
00686347	FD	4	-	BoundingRectangle	Bounding Rectangle
00686350	US	1-n	-	ImplantTemplate3DModelSurfaceNumber	Implant Template 3D Model Surface Number
00686360	SQ	1	-	SurfaceModelDescriptionSequence	Surface Model Description Sequence
00686380	LO	1	-	SurfaceModelLabel	Surface Model Label
00686390	FD	1	-	SurfaceModelScalingFactor	Surface Model Scaling Factor
006863A0	SQ	1	-	MaterialsCodeSequence	Materials Code Sequence
006863A4	SQ	1	-	CoatingMaterialsCodeSequence	Coating Materials Code Sequence
006863A8	SQ	1	-	ImplantTypeCodeSequence	Implant Type Code Sequence
006863AC	SQ	1	-	FixationMethodCodeSequence	Fixation Method Code Sequence
006863B0	SQ	1	-	MatingFeatureSetsSequence	Mating Feature Sets Sequence
006863C0	US	1	-	MatingFeatureSetID	Mating Feature Set ID
006863D0	LO	1	-	MatingFeatureSetLabel	Mating Feature Set Label
006863E0	SQ	1	-	MatingFeatureSequence	Mating Feature Sequence
006863F0	US	1	-	MatingFeatureID	Mating Feature ID
00686400	SQ	1	-	MatingFeatureDegreeOfFreedomSequence	Mating Feature Degree of Freedom Sequence
00686410	US	1	-	DegreeOfFreedomID	Degree of Freedom ID
00686420	CS	1	-	DegreeOfFreedomType	Degree of Freedom Type
00686430	SQ	1	-	TwoDMatingFeatureCoordinatesSequence	2D Mating Feature Coordinates Sequence
00686440	US	1	-	ReferencedHPGLDocumentID	Referenced HPGL Document ID
00686450	FD	2	-	TwoDMatingPoint	2D Mating Point
00686460	FD	4	-	TwoDMatingAxes	2D Mating Axes
00686470	SQ	1	-	TwoDDegreeOfFreedomSequence	2D Degree of Freedom Sequence
00686490	FD	3	-	ThreeDDegreeOfFreedomAxis	3D Degree of Freedom Axis
006864A0	FD	2	-	RangeOfFreedom	Range of Freedom
006864C0	FD	3	-	ThreeDMatingPoint	3D Mating Point
006864D0	FD	9	-	ThreeDMatingAxes	3D Mating Axes
006864F0	FD	3	-	TwoDDegreeOfFreedomAxis	2D Degree of Freedom Axis
00686500	SQ	1	-	PlanningLandmarkPointSequence	Planning Landmark Point Sequence
00686510	SQ	1	-	PlanningLandmarkLineSequence	Planning Landmark Line Sequence
00686520	SQ	1	-	PlanningLandmarkPlaneSequence	Planning Landmark Plane Sequence
00686530	US	1	-	PlanningLandmarkID	Planning Landmark ID
00686540	LO	1	-	PlanningLandmarkDescription	Planning Landmark Description
00686545	SQ	1	-	PlanningLandmarkIdentificationCodeSequence	Planning Landmark Identification Code Sequence
00686550	SQ	1	-	TwoDPointCoordinatesSequence	2D Point Coordinates Sequence
00686560	FD	2	-	TwoDPointCoordinates	2D Point Coordinates
00686590	FD	3	-	ThreeDPointCoordinates	3D Point Coordinates
006865A0	SQ	1	-	TwoDLineCoordinatesSequence	2D Line Coordinates Sequence
006865B0	FD	4	-	TwoDLineCoordinates	2D Line Coordinates
006865D0	FD	6	-	ThreeDLineCoordinates	3D Line Coordinates
006865E0	SQ	1	-	TwoDPlaneCoordinatesSequence	2D Plane Coordinates Sequence
006865F0	FD	4	-	TwoDPlaneIntersection	2D Plane Intersection
00686610	FD	3	-	ThreeDPlaneOrigin	3D Plane Origin
00686620	FD	3	-	ThreeDPlaneNormal	3D Plane Normal
00687001	CS	1	-	ModelModification	Model Modification
00687002	CS	1	-	ModelMirroring	Model Mirroring
00687003	SQ	1	-	ModelUsageCodeSequence	Model Usage Code Sequence
00687004	UI	1	-	ModelGroupUID	Model Group UID
00687005	UR	1	-	RelativeURIReferenceWithinEncapsulatedDocument	Relative URI Reference Within Encapsulated Document
006A0001	CS	1	-	AnnotationCoordinateType	Annotation Coordinate Type
006A0002	SQ	1	-	AnnotationGroupSequence	Annotation Group Sequence
006A0003	UI	1	-	AnnotationGroupUID	Annotation Group UID
006A0005	LO	1	-	AnnotationGroupLabel	Annotation Group Label
006A0006	UT	1	-	AnnotationGroupDescription	Annotation Group Description
006A0007	CS	1	-	AnnotationGroupGenerationType	Annotation Group Generation Type
006A0008	SQ	1	-	AnnotationGroupAlgorithmIdentificationSequence	Annotation Group Algorithm Identification Sequence
006A0009	SQ	1	-	AnnotationPropertyCategoryCodeSequence	Annotation Property Category Code Sequence
006A000A	SQ	1	-	AnnotationPropertyTypeCodeSequence	Annotation Property Type Code Sequence
006A000B	SQ	1	-	AnnotationPropertyTypeModifierCodeSequence	Annotation Property Type Modifier Code Sequence
006A000C	UL	1	-	NumberOfAnnotations	Number of Annotations
006A000D	CS	1	-	AnnotationAppliesToAllOpticalPaths	Annotation Applies to All Optical Paths
006A000E	SH	1-n	-	ReferencedOpticalPathIdentifier	Referenced Optical Path Identifier
006A000F	CS	1	-	AnnotationAppliesToAllZPlanes	Annotation Applies to All Z Planes
006A0010	FD	1-n	-	CommonZCoordinateValue	Common Z Coordinate Value
006A0011	OL	1	-	AnnotationIndexList	Annotation Index List
00700001	SQ	1	-	GraphicAnnotationSequence	Graphic Annotation Sequence
00700002	CS	1	-	GraphicLayer	Graphic Layer
00700003	CS	1	-	BoundingBoxAnnotationUnits	Bounding Box Annotation Units
00700004	CS	1	-	AnchorPointAnnotationUnits	Anchor Point Annotation Units
00700005	CS	1	-	GraphicAnnotationUnits	Graphic Annotation Units
00700006	ST	1	-	UnformattedTextValue	Unformatted Text Value
00700008	SQ	1	-	TextObjectSequence	Text Object Sequence
00700009	SQ	1	-	GraphicObjectSequence	Graphic Object Sequence
00700010	FL	2	-	BoundingBoxTopLeftHandCorner	Bounding Box Top Left Hand Corner
00700011	FL	2	-	BoundingBoxBottomRightHandCorner	Bounding Box Bottom Right Hand Corner
00700012	CS	1	-	BoundingBoxTextHorizontalJustification	Bounding Box Text Horizontal Justification
00700014	FL	2	-	AnchorPoint	Anchor Point
00700015	CS	1	-	AnchorPointVisibility	Anchor Point Visibility
00700020	US	1	-	GraphicDimensions	Graphic Dimensions
00700021	US	1	-	NumberOfGraphicPoints	Number of Graphic Points
00700022	FL	2-n	-	GraphicData	Graphic Data
00700023	CS	1	-	GraphicType	Graphic Type
00700024	CS	1	-	GraphicFilled	Graphic Filled
00700040	IS	1	R	ImageRotationRetired	Image Rotation (Retired)
00700041	CS	1	-	ImageHorizontalFlip	Image Horizontal Flip
00700042	US	1	-	ImageRotation	Image Rotation
00700050	US	2	R	DisplayedAreaTopLeftHandCornerTrial	Displayed Area Top Left Hand Corner (Trial)
00700051	US	2	R	DisplayedAreaBottomRightHandCornerTrial	Displayed Area Bottom Right Hand Corner (Trial)
00700052	SL	2	-	DisplayedAreaTopLeftHandCorner	Displayed Area Top Left Hand Corner
00700053	SL	2	-	DisplayedAreaBottomRightHandCorner	Displayed Area Bottom Right Hand Corner
0070005A	SQ	1	-	DisplayedAreaSelectionSequence	Displayed Area Selection Sequence
00700060	SQ	1	-	GraphicLayerSequence	Graphic Layer Sequence
00700062	IS	1	-	GraphicLayerOrder	Graphic Layer Order
00700066	US	1	-	GraphicLayerRecommendedDisplayGrayscaleValue	Graphic Layer Recommended Display Grayscale Value
00700067	US	3	R	GraphicLayerRecommendedDisplayRGBValue	Graphic Layer Recommended Display RGB Value
00700068	LO	1	-	GraphicLayerDescription	Graphic Layer Description
00700080	CS	1	-	ContentLabel	Content Label
00700081	LO	1	-	ContentDescription	Content Description
00700082	DA	1	-	PresentationCreationDate	Presentation Creation Date
00700083	TM	1	-	PresentationCreationTime	Presentation Creation Time
00700084	PN	1	-	ContentCreatorName	Content Creator's Name
00700086	SQ	1	-	ContentCreatorIdentificationCodeSequence	Content Creator's Identification Code Sequence
00700087	SQ	1	-	AlternateContentDescriptionSequence	Alternate Content Description Sequence
00700100	CS	1	-	PresentationSizeMode	Presentation Size Mode
00700101	DS	2	-	PresentationPixelSpacing	Presentation Pixel Spacing
00700102	IS	2	-	PresentationPixelAspectRatio	Presentation Pixel Aspect Ratio
00700103	FL	1	-	PresentationPixelMagnificationRatio	Presentation Pixel Magnification Ratio
00700207	LO	1	-	GraphicGroupLabel	Graphic Group Label
00700208	ST	1	-	GraphicGroupDescription	Graphic Group Description
00700209	SQ	1	-	CompoundGraphicSequence	Compound Graphic Sequence
00700226	UL	1	-	CompoundGraphicInstanceID	Compound Graphic Instance ID
00700227	LO	1	-	FontName	Font Name
00700228	CS	1	-	FontNameType	Font Name Type
00700229	LO	1	-	CSSFontName	CSS Font Name
00700230	FD	1	-	RotationAngle	Rotation Angle
00700231	SQ	1	-	TextStyleSequence	Text Style Sequence
00700232	SQ	1	-	LineStyleSequence	Line Style Sequence
00700233	SQ	1	-	FillStyleSequence	Fill Style Sequence
00700234	SQ	1	-	GraphicGroupSequence	Graphic Group Sequence
00700241	US	3	-	TextColorCIELabValue	Text Color CIELab Value
00700242	CS	1	-	HorizontalAlignment	Horizontal Alignment
00700243	CS	1	-	VerticalAlignment	Vertical Alignment
00700244	CS	1	-	ShadowStyle	Shadow Style
00700245	FL	1	-	ShadowOffsetX	Shadow Offset X
00700246	FL	1	-	ShadowOffsetY	Shadow Offset Y
00700247	US	3	-	ShadowColorCIELabValue	Shadow Color CIELab Value
00700248	CS	1	-	Underlined	Underlined
00700249	CS	1	-	Bold	Bold
00700250	CS	1	-	Italic	Italic
00700251	US	3	-	PatternOnColorCIELabValue	Pattern On Color CIELab Value
00700252	US	3	-	PatternOffColorCIELabValue	Pattern Off Color CIELab Value
00700253	FL	1	-	LineThickness	Line Thickness
00700254	CS	1	-	LineDashingStyle	Line Dashing Style
00700255	UL	1	-	LinePattern	Line Pattern
00700256	OB	1	-	FillPattern	Fill Pattern
00700257	CS	1	-	FillMode	Fill Mode
00700258	FL	1	-	ShadowOpacity	Shadow Opacity
00700261	FL	1	-	GapLength	Gap Length
00700262	FL	1	-	DiameterOfVisibility	Diameter of Visibility
00700273	FL	2	-	RotationPoint	Rotation Point
00700274	CS	1	-	TickAlignment	Tick Alignment
00700278	CS	1	-	ShowTickLabel	Show Tick Label
00700279	CS	1	-	TickLabelAlignment	Tick Label Alignment
00700282	CS	1	-	CompoundGraphicUnits	Compound Graphic Units
00700284	FL	1	-	PatternOnOpacity	Pattern On Opacity
00700285	FL	1	-	PatternOffOpacity	Pattern Off Opacity
00700287	SQ	1	-	MajorTicksSequence	Major Ticks Sequence
00700288	FL	1	-	TickPosition	Tick Position
00700289	SH	1	-	TickLabel	Tick Label
00700294	CS	1	-	CompoundGraphicType	Compound Graphic Type
00700295	UL	1	-	GraphicGroupID	Graphic Group ID
00700306	CS	1	-	ShapeType	Shape Type
00700308	SQ	1	-	RegistrationSequence	Registration Sequence
00700309	SQ	1	-	MatrixRegistrationSequence	Matrix Registration Sequence
0070030A	SQ	1	-	MatrixSequence	Matrix Sequence
0070030B	FD	16	-	FrameOfReferenceToDisplayedCoordinateSystemTransformationMatrix	Frame of Reference to Displayed Coordinate System Transformation Matrix
0070030C	CS	1	-	FrameOfReferenceTransformationMatrixType	Frame of Reference Transformation Matrix Type
0070030D	SQ	1	-	RegistrationTypeCodeSequence	Registration Type Code Sequence
0070030F	ST	1	-	FiducialDescription	Fiducial Description
00700310	SH	1	-	FiducialIdentifier	Fiducial Identifier
00700311	SQ	1	-	FiducialIdentifierCodeSequence	Fiducial Identifier Code Sequence
00700312	FD	1	-	ContourUncertaintyRadius	Contour Uncertainty Radius
00700314	SQ	1	-	UsedFiducialsSequence	Used Fiducials Sequence
00700315	SQ	1	-	UsedRTStructureSetROISequence	Used RT Structure Set ROI Sequence
00700318	SQ	1	-	GraphicCoordinatesDataSequence	Graphic Coordinates Data Sequence
0070031A	UI	1	-	FiducialUID	Fiducial UID
0070031B	UI	1	-	ReferencedFiducialUID	Referenced Fiducial UID
0070031C	SQ	1	-	FiducialSetSequence	Fiducial Set Sequence
0070031E	SQ	1	-	FiducialSequence	Fiducial Sequence
0070031F	SQ	1	-	FiducialsPropertyCategoryCodeSequence	Fiducials Property Category Code Sequence
00700401	US	3	-	GraphicLayerRecommendedDisplayCIELabValue	Graphic Layer Recommended Display CIELab Value
00700402	SQ	1	-	BlendingSequence	Blending Sequence
00700403	FL	1	-	RelativeOpacity	Relative Opacity
00700404	SQ	1	-	ReferencedSpatialRegistrationSequence	Referenced Spatial Registration Sequence
00700405	CS	1	-	BlendingPosition	Blending Position
00701101	UI	1	-	PresentationDisplayCollectionUID	Presentation Display Collection UID
00701102	UI	1	-	PresentationSequenceCollectionUID	Presentation Sequence Collection UID
00701103	US	1	-	PresentationSequencePositionIndex	Presentation Sequence Position Index
00701104	SQ	1	-	RenderedImageReferenceSequence	Rendered Image Reference Sequence
00701201	SQ	1	-	VolumetricPresentationStateInputSequence	Volumetric Presentation State Input Sequence
00701202	CS	1	-	PresentationInputType	Presentation Input Type
00701203	US	1	-	InputSequencePositionIndex	Input Sequence Position Index
00701204	CS	1	-	Crop	Crop
00701205	US	1-n	-	CroppingSpecificationIndex	Cropping Specification Index
00701206	CS	1	R	CompositingMethod	Compositing Method
00701207	US	1	-	VolumetricPresentationInputNumber	Volumetric Presentation Input Number
00701208	CS	1	-	ImageVolumeGeometry	Image Volume Geometry
00701209	UI	1	-	VolumetricPresentationInputSetUID	Volumetric Presentation Input Set UID
0070120A	SQ	1	-	VolumetricPresentationInputSetSequence	Volumetric Presentation Input Set Sequence
0070120B	CS	1	-	GlobalCrop	Global Crop
0070120C	US	1-n	-	GlobalCroppingSpecificationIndex	Global Cropping Specification Index
0070120D	CS	1	-	RenderingMethod	Rendering Method
00701301	SQ	1	-	VolumeCroppingSequence	Volume Cropping Sequence
00701302	CS	1	-	VolumeCroppingMethod	Volume Cropping Method
00701303	FD	6	-	BoundingBoxCrop	Bounding Box Crop
00701304	SQ	1	-	ObliqueCroppingPlaneSequence	Oblique Cropping Plane Sequence
00701305	FD	4	-	Plane	Plane
00701306	FD	3	-	PlaneNormal	Plane Normal
00701309	US	1	-	CroppingSpecificationNumber	Cropping Specification Number
00701501	CS	1	-	MultiPlanarReconstructionStyle	Multi-Planar Reconstruction Style
00701502	CS	1	-	MPRThicknessType	MPR Thickness Type
00701503	FD	1	-	MPRSlabThickness	MPR Slab Thickness
00701505	FD	3	-	MPRTopLeftHandCorner	MPR Top Left Hand Corner
00701507	FD	3	-	MPRViewWidthDirection	MPR View Width Direction
00701508	FD	1	-	MPRViewWidth	MPR View Width
0070150C	UL	1	-	NumberOfVolumetricCurvePoints	Number of Volumetric Curve Points
0070150D	OD	1	-	VolumetricCurvePoints	Volumetric Curve Points
00701511	FD	3	-	MPRViewHeightDirection	MPR View Height Direction
00701512	FD	1	-	MPRViewHeight	MPR View Height
00701602	CS	1	-	RenderProjection	Render Projection
00701603	FD	3	-	ViewpointPosition	Viewpoint Position
00701604	FD	3	-	ViewpointLookAtPoint	Viewpoint LookAt Point
00701605	FD	3	-	ViewpointUpDirection	Viewpoint Up Direction
00701606	FD	6	-	RenderFieldOfView	Render Field of View
00701607	FD	1	-	SamplingStepSize	Sampling Step Size
00701701	CS	1	-	ShadingStyle	Shading Style
00701702	FD	1	-	AmbientReflectionIntensity	Ambient Reflection Intensity
00701703	FD	3	-	LightDirection	Light Direction
00701704	FD	1	-	DiffuseReflectionIntensity	Diffuse Reflection Intensity
00701705	FD	1	-	SpecularReflectionIntensity	Specular Reflection Intensity
00701706	FD	1	-	Shininess	Shininess
00701801	SQ	1	-	PresentationStateClassificationComponentSequence	Presentation State Classification Component Sequence
00701802	CS	1	-	ComponentType	Component Type
00701803	SQ	1	-	ComponentInputSequence	Component Input Sequence
00701804	US	1	-	VolumetricPresentationInputIndex	Volumetric Presentation Input Index
00701805	SQ	1	-	PresentationStateCompositorComponentSequence	Presentation State Compositor Component Sequence
00701806	SQ	1	-	WeightingTransferFunctionSequence	Weighting Transfer Function Sequence
00701807	US	3	R	WeightingLookupTableDescriptor	Weighting Lookup Table Descriptor
00701808	OB	1	R	WeightingLookupTableData	Weighting Lookup Table Data
00701901	SQ	1	-	VolumetricAnnotationSequence	Volumetric Annotation Sequence
00701903	SQ	1	-	ReferencedStructuredContextSequence	Referenced Structured Context Sequence
00701904	UI	1	-	ReferencedContentItem	Referenced Content Item
00701905	SQ	1	-	VolumetricPresentationInputAnnotationSequence	Volumetric Presentation Input Annotation Sequence
00701907	CS	1	-	AnnotationClipping	Annotation Clipping
00701A01	CS	1	-	PresentationAnimationStyle	Presentation Animation Style
00701A03	FD	1	-	RecommendedAnimationRate	Recommended Animation Rate
00701A04	SQ	1	-	AnimationCurveSequence	Animation Curve Sequence
00701A05	FD	1	-	AnimationStepSize	Animation Step Size
00701A06	FD	1	-	SwivelRange	Swivel Range
00701A07	OD	1	-	VolumetricCurveUpDirections	Volumetric Curve Up Directions
00701A08	SQ	1	-	VolumeStreamSequence	Volume Stream Sequence
00701A09	LO	1	-	RGBATransferFunctionDescription	RGBA Transfer Function Description
00701B01	SQ	1	-	AdvancedBlendingSequence	Advanced Blending Sequence
00701B02	US	1	-	BlendingInputNumber	Blending Input Number
00701B03	SQ	1	-	BlendingDisplayInputSequence	Blending Display Input Sequence
00701B04	SQ	1	-	BlendingDisplaySequence	Blending Display Sequence
00701B06	CS	1	-	BlendingMode	Blending Mode
00701B07	CS	1	-	TimeSeriesBlending	Time Series Blending
00701B08	CS	1	-	GeometryForDisplay	Geometry for Display
00701B11	SQ	1	-	ThresholdSequence	Threshold Sequence
00701B12	SQ	1	-	ThresholdValueSequence	Threshold Value Sequence
00701B13	CS	1	-	ThresholdType	Threshold Type
00701B14	FD	1	-	ThresholdValue	Threshold Value
00720002	SH	1	-	HangingProtocolName	Hanging Protocol Name
00720004	LO	1	-	HangingProtocolDescription	Hanging Protocol Description
00720006	CS	1	-	HangingProtocolLevel	Hanging Protocol Level
00720008	LO	1	-	HangingProtocolCreator	Hanging Protocol Creator
0072000A	DT	1	-	HangingProtocolCreationDateTime	Hanging Protocol Creation DateTime
0072000C	SQ	1	-	HangingProtocolDefinitionSequence	Hanging Protocol Definition Sequence
0072000E	SQ	1	-	HangingProtocolUserIdentificationCodeSequence	Hanging Protocol User Identification Code Sequence
00720010	LO	1	-	HangingProtocolUserGroupName	Hanging Protocol User Group Name
00720012	SQ	1	-	SourceHangingProtocolSequence	Source Hanging Protocol Sequence
00720014	US	1	-	NumberOfPriorsReferenced	Number of Priors Referenced
00720020	SQ	1	-	ImageSetsSequence	Image Sets Sequence
00720022	SQ	1	-	ImageSetSelectorSequence	Image Set Selector Sequence
00720024	CS	1	-	ImageSetSelectorUsageFlag	Image Set Selector Usage Flag
00720026	AT	1	-	SelectorAttribute	Selector Attribute
00720028	US	1	-	SelectorValueNumber	Selector Value Number
00720030	SQ	1	-	TimeBasedImageSetsSequence	Time Based Image Sets Sequence
00720032	US	1	-	ImageSetNumber	Image Set Number
00720034	CS	1	-	ImageSetSelectorCategory	Image Set Selector Category
00720038	US	2	-	RelativeTime	Relative Time
0072003A	CS	1	-	RelativeTimeUnits	Relative Time Units
0072003C	SS	2	-	AbstractPriorValue	Abstract Prior Value
0072003E	SQ	1	-	AbstractPriorCodeSequence	Abstract Prior Code Sequence
00720040	LO	1	-	ImageSetLabel	Image Set Label
00720050	CS	1	-	SelectorAttributeVR	Selector Attribute VR
00720052	AT	1-n	-	SelectorSequencePointer	Selector Sequence Pointer
00720054	LO	1-n	-	SelectorSequencePointerPrivateCreator	Selector Sequence Pointer Private Creator
00720056	LO	1	-	SelectorAttributePrivateCreator	Selector Attribute Private Creator
0072005E	AE	1-n	-	SelectorAEValue	Selector AE Value
0072005F	AS	1-n	-	SelectorASValue	Selector AS Value
00720060	AT	1-n	-	SelectorATValue	Selector AT Value
00720061	DA	1-n	-	SelectorDAValue	Selector DA Value
00720062	CS	1-n	-	SelectorCSValue	Selector CS Value
00720063	DT	1-n	-	SelectorDTValue	Selector DT Value
00720064	IS	1-n	-	SelectorISValue	Selector IS Value
00720065	OB	1	-	SelectorOBValue	Selector OB Value
00720066	LO	1-n	-	SelectorLOValue	Selector LO Value
00720067	OF	1	-	SelectorOFValue	Selector OF Value
00720068	LT	1	-	SelectorLTValue	Selector LT Value
00720069	OW	1	-	SelectorOWValue	Selector OW Value
0072006A	PN	1-n	-	SelectorPNValue	Selector PN Value
0072006B	TM	1-n	-	SelectorTMValue	Selector TM Value
0072006C	SH	1-n	-	SelectorSHValue	Selector SH Value
0072006D	UN	1	-	SelectorUNValue	Selector UN Value
0072006E	ST	1	-	SelectorSTValue	Selector ST Value
0072006F	UC	1-n	-	SelectorUCValue	Selector UC Value
00720070	UT	1	-	SelectorUTValue	Selector UT Value
00720071	UR	1	-	SelectorURValue	Selector UR Value
00720072	DS	1-n	-	SelectorDSValue	Selector DS Value
00720073	OD	1	-	SelectorODValue	Selector OD Value
00720074	FD	1-n	-	SelectorFDValue	Selector FD Value
00720075	OL	1	-	SelectorOLValue	Selector OL Value
00720076	FL	1-n	-	SelectorFLValue	Selector FL Value
00720078	UL	1-n	-	SelectorULValue	Selector UL Value
0072007A	US	1-n	-	SelectorUSValue	Selector US Value
0072007C	SL	1-n	-	SelectorSLValue	Selector SL Value
0072007E	SS	1-n	-	SelectorSSValue	Selector SS Value
0072007F	UI	1-n	-	SelectorUIValue	Selector UI Value
00720080	SQ	1	-	SelectorCodeSequenceValue	Selector Code Sequence Value
00720081	OV	1	-	SelectorOVValue	Selector OV Value
00720082	SV	1-n	-	SelectorSVValue	Selector SV Value
00720083	UV	1-n	-	SelectorUVValue	Selector UV Value
00720100	US	1	-	NumberOfScreens	Number of Screens
00720102	SQ	1	-	NominalScreenDefinitionSequence	Nominal Screen Definition Sequence
00720104	US	1	-	NumberOfVerticalPixels	Number of Vertical Pixels
00720106	US	1	-	NumberOfHorizontalPixels	Number of Horizontal Pixels
00720108	FD	4	-	DisplayEnvironmentSpatialPosition	Display Environment Spatial Position
0072010A	US	1	-	ScreenMinimumGrayscaleBitDepth	Screen Minimum Grayscale Bit Depth
0072010C	US	1	-	ScreenMinimumColorBitDepth	Screen Minimum Color Bit Depth
0072010E	US	1	-	ApplicationMaximumRepaintTime	Application Maximum Repaint Time
00720200	SQ	1	-	DisplaySetsSequence	Display Sets Sequence
00720202	US	1	-	DisplaySetNumber	Display Set Number
00720203	LO	1	-	DisplaySetLabel	Display Set Label
00720204	US	1	-	DisplaySetPresentationGroup	Display Set Presentation Group
00720206	LO	1	-	DisplaySetPresentationGroupDescription	Display Set Presentation Group Description
00720208	CS	1	-	PartialDataDisplayHandling	Partial Data Display Handling
00720210	SQ	1	-	SynchronizedScrollingSequence	Synchronized Scrolling Sequence
00720212	US	2-n	-	DisplaySetScrollingGroup	Display Set Scrolling Group
00720214	SQ	1	-	NavigationIndicatorSequence	Navigation Indicator Sequence
00720216	US	1	-	NavigationDisplaySet	Navigation Display Set
00720218	US	1-n	-	ReferenceDisplaySets	Reference Display Sets
00720300	SQ	1	-	ImageBoxesSequence	Image Boxes Sequence
00720302	US	1	-	ImageBoxNumber	Image Box Number
00720304	CS	1	-	ImageBoxLayoutType	Image Box Layout Type
00720306	US	1	-	ImageBoxTileHorizontalDimension	Image Box Tile Horizontal Dimension
00720308	US	1	-	ImageBoxTileVerticalDimension	Image Box Tile Vertical Dimension
00720310	CS	1	-	ImageBoxScrollDirection	Image Box Scroll Direction
00720312	CS	1	-	ImageBoxSmallScrollType	Image Box Small Scroll Type
00720314	US	1	-	ImageBoxSmallScrollAmount	Image Box Small Scroll Amount
00720316	CS	1	-	ImageBoxLargeScrollType	Image Box Large Scroll Type
00720318	US	1	-	ImageBoxLargeScrollAmount	Image Box Large Scroll Amount
00720320	US	1	-	ImageBoxOverlapPriority	Image Box Overlap Priority
00720330	FD	1	-	CineRelativeToRealTime	Cine Relative to Real-Time
00720400	SQ	1	-	FilterOperationsSequence	Filter Operations Sequence
00720402	CS	1	-	FilterByCategory	Filter-by Category
00720404	CS	1	-	FilterByAttributePresence	Filter-by Attribute Presence
00720406	CS	1	-	FilterByOperator	Filter-by Operator
00720420	US	3	-	StructuredDisplayBackgroundCIELabValue	Structured Display Background CIELab Value
00720421	US	3	-	EmptyImageBoxCIELabValue	Empty Image Box CIELab Value
00720422	SQ	1	-	StructuredDisplayImageBoxSequence	Structured Display Image Box Sequence
00720424	SQ	1	-	StructuredDisplayTextBoxSequence	Structured Display Text Box Sequence
00720427	SQ	1	-	ReferencedFirstFrameSequence	Referenced First Frame Sequence
00720430	SQ	1	-	ImageBoxSynchronizationSequence	Image Box Synchronization Sequence
00720432	US	2-n	-	SynchronizedImageBoxList	Synchronized Image Box List
00720434	CS	1	-	TypeOfSynchronization	Type of Synchronization
00720500	CS	1	-	BlendingOperationType	Blending Operation Type
00720510	CS	1	-	ReformattingOperationType	Reformatting Operation Type
00720512	FD	1	-	ReformattingThickness	Reformatting Thickness
00720514	FD	1	-	ReformattingInterval	Reformatting Interval
00720516	CS	1	-	ReformattingOperationInitialViewDirection	Reformatting Operation Initial View Direction
00720520	CS	1-n	-	ThreeDRenderingType	3D Rendering Type
00720600	SQ	1	-	SortingOperationsSequence	Sorting Operations Sequence
00720602	CS	1	-	SortByCategory	Sort-by Category
00720604	CS	1	-	SortingDirection	Sorting Direction
00720700	CS	2	-	DisplaySetPatientOrientation	Display Set Patient Orientation
00720702	CS	1	-	VOIType	VOI Type
00720704	CS	1	-	PseudoColorType	Pseudo-Color Type
00720705	SQ	1	-	PseudoColorPaletteInstanceReferenceSequence	Pseudo-Color Palette Instance Reference Sequence
00720706	CS	1	-	ShowGrayscaleInverted	Show Grayscale Inverted
00720710	CS	1	-	ShowImageTrueSizeFlag	Show Image True Size Flag
00720712	CS	1	-	ShowGraphicAnnotationFlag	Show Graphic Annotation Flag
00720714	CS	1	-	ShowPatientDemographicsFlag	Show Patient Demographics Flag
00720716	CS	1	-	ShowAcquisitionTechniquesFlag	Show Acquisition Techniques Flag
00720717	CS	1	-	DisplaySetHorizontalJustification	Display Set Horizontal Justification
00720718	CS	1	-	DisplaySetVerticalJustification	Display Set Vertical Justification
00740120	FD	1	-	ContinuationStartMeterset	Continuation Start Meterset
00740121	FD	1	-	ContinuationEndMeterset	Continuation End Meterset
00741000	CS	1	-	ProcedureStepState	Procedure Step State
00741002	SQ	1	-	ProcedureStepProgressInformationSequence	Procedure Step Progress Information Sequence
00741004	DS	1	-	ProcedureStepProgress	Procedure Step Progress
00741006	ST	1	-	ProcedureStepProgressDescription	Procedure Step Progress Description
00741007	SQ	1	-	ProcedureStepProgressParametersSequence	Procedure Step Progress Parameters Sequence
00741008	SQ	1	-	ProcedureStepCommunicationsURISequence	Procedure Step Communications URI Sequence
0074100A	UR	1	-	ContactURI	Contact URI
0074100C	LO	1	-	ContactDisplayName	Contact Display Name
0074100E	SQ	1	-	ProcedureStepDiscontinuationReasonCodeSequence	Procedure Step Discontinuation Reason Code Sequence
00741020	SQ	1	-	BeamTaskSequence	Beam Task Sequence
00741022	CS	1	-	BeamTaskType	Beam Task Type
00741024	IS	1	R	BeamOrderIndexTrial	Beam Order Index (Trial)
00741025	CS	1	-	AutosequenceFlag	Autosequence Flag
00741026	FD	1	-	TableTopVerticalAdjustedPosition	Table Top Vertical Adjusted Position
00741027	FD	1	-	TableTopLongitudinalAdjustedPosition	Table Top Longitudinal Adjusted Position
00741028	FD	1	-	TableTopLateralAdjustedPosition	Table Top Lateral Adjusted Position
0074102A	FD	1	-	PatientSupportAdjustedAngle	Patient Support Adjusted Angle
0074102B	FD	1	-	TableTopEccentricAdjustedAngle	Table Top Eccentric Adjusted Angle
0074102C	FD	1	-	TableTopPitchAdjustedAngle	Table Top Pitch Adjusted Angle
0074102D	FD	1	-	TableTopRollAdjustedAngle	Table Top Roll Adjusted Angle
00741030	SQ	1	-	DeliveryVerificationImageSequence	Delivery Verification Image Sequence
00741032	CS	1	-	VerificationImageTiming	Verification Image Timing
00741034	CS	1	-	DoubleExposureFlag	Double Exposure Flag
00741036	CS	1	-	DoubleExposureOrdering	Double Exposure Ordering
00741038	DS	1	R	DoubleExposureMetersetTrial	Double Exposure Meterset (Trial)
0074103A	DS	4	R	DoubleExposureFieldDeltaTrial	Double Exposure Field Delta (Trial)
00741040	SQ	1	-	RelatedReferenceRTImageSequence	Related Reference RT Image Sequence
00741042	SQ	1	-	GeneralMachineVerificationSequence	General Machine Verification Sequence
00741044	SQ	1	-	ConventionalMachineVerificationSequence	Conventional Machine Verification Sequence
00741046	SQ	1	-	IonMachineVerificationSequence	Ion Machine Verification Sequence
00741048	SQ	1	-	FailedAttributesSequence	Failed Attributes Sequence
0074104A	SQ	1	-	OverriddenAttributesSequence	Overridden Attributes Sequence
0074104C	SQ	1	-	ConventionalControlPointVerificationSequence	Conventional Control Point Verification Sequence
0074104E	SQ	1	-	IonControlPointVerificationSequence	Ion Control Point Verification Sequence
00741050	SQ	1	-	AttributeOccurrenceSequence	Attribute Occurrence Sequence
00741052	AT	1	-	AttributeOccurrencePointer	Attribute Occurrence Pointer
00741054	UL	1	-	AttributeItemSelector	Attribute Item Selector
00741056	LO	1	-	AttributeOccurrencePrivateCreator	Attribute Occurrence Private Creator
00741057	IS	1-n	-	SelectorSequencePointerItems	Selector Sequence Pointer Items
00741200	CS	1	-	ScheduledProcedureStepPriority	Scheduled Procedure Step Priority
00741202	LO	1	-	WorklistLabel	Worklist Label
00741204	LO	1	-	ProcedureStepLabel	Procedure Step Label
00741210	SQ	1	-	ScheduledProcessingParametersSequence	Scheduled Processing Parameters Sequence
00741212	SQ	1	-	PerformedProcessingParametersSequence	Performed Processing Parameters Sequence
00741216	SQ	1	-	UnifiedProcedureStepPerformedProcedureSequence	Unified Procedure Step Performed Procedure Sequence
00741220	SQ	1	R	RelatedProcedureStepSequence	Related Procedure Step Sequence
00741222	LO	1	R	ProcedureStepRelationshipType	Procedure Step Relationship Type
00741224	SQ	1	-	ReplacedProcedureStepSequence	Replaced Procedure Step Sequence
00741230	LO	1	-	DeletionLock	Deletion Lock
00741234	AE	1	-	ReceivingAE	Receiving AE
00741236	AE	1	-	RequestingAE	Requesting AE
00741238	LT	1	-	ReasonForCancellation	Reason for Cancellation
00741242	CS	1	-	SCPStatus	SCP Status
00741244	CS	1	-	SubscriptionListStatus	Subscription List Status
00741246	CS	1	-	UnifiedProcedureStepListStatus	Unified Procedure Step List Status
00741324	UL	1	-	BeamOrderIndex	Beam Order Index
00741338	FD	1	-	DoubleExposureMeterset	Double Exposure Meterset
0074133A	FD	4	-	DoubleExposureFieldDelta	Double Exposure Field Delta
00741401	SQ	1	-	BrachyTaskSequence	Brachy Task Sequence
00741402	DS	1	-	ContinuationStartTotalReferenceAirKerma	Continuation Start Total Reference Air Kerma
00741403	DS	1	-	ContinuationEndTotalReferenceAirKerma	Continuation End Total Reference Air Kerma
00741404	IS	1	-	ContinuationPulseNumber	Continuation Pulse Number
00741405	SQ	1	-	ChannelDeliveryOrderSequence	Channel Delivery Order Sequence
00741406	IS	1	-	ReferencedChannelNumber	Referenced Channel Number
00741407	DS	1	-	StartCumulativeTimeWeight	Start Cumulative Time Weight
00741408	DS	1	-	EndCumulativeTimeWeight	End Cumulative Time Weight
00741409	SQ	1	-	OmittedChannelSequence	Omitted Channel Sequence
0074140A	CS	1	-	ReasonForChannelOmission	Reason for Channel Omission
0074140B	LO	1	-	ReasonForChannelOmissionDescription	Reason for Channel Omission Description
0074140C	IS	1	-	ChannelDeliveryOrderIndex	Channel Delivery Order Index
0074140D	SQ	1	-	ChannelDeliveryContinuationSequence	Channel Delivery Continuation Sequence
0074140E	SQ	1	-	OmittedApplicationSetupSequence	Omitted Application Setup Sequence
00760001	LO	1	-	ImplantAssemblyTemplateName	Implant Assembly Template Name
00760003	LO	1	-	ImplantAssemblyTemplateIssuer	Implant Assembly Template Issuer
00760006	LO	1	-	ImplantAssemblyTemplateVersion	Implant Assembly Template Version
00760008	SQ	1	-	ReplacedImplantAssemblyTemplateSequence	Replaced Implant Assembly Template Sequence
0076000A	CS	1	-	ImplantAssemblyTemplateType	Implant Assembly Template Type
0076000C	SQ	1	-	OriginalImplantAssemblyTemplateSequence	Original Implant Assembly Template Sequence
0076000E	SQ	1	-	DerivationImplantAssemblyTemplateSequence	Derivation Implant Assembly Template Sequence
00760010	SQ	1	-	ImplantAssemblyTemplateTargetAnatomySequence	Implant Assembly Template Target Anatomy Sequence
00760020	SQ	1	-	ProcedureTypeCodeSequence	Procedure Type Code Sequence
00760030	LO	1	-	SurgicalTechnique	Surgical Technique
00760032	SQ	1	-	ComponentTypesSequence	Component Types Sequence
00760034	SQ	1	-	ComponentTypeCodeSequence	Component Type Code Sequence
00760036	CS	1	-	ExclusiveComponentType	Exclusive Component Type
00760038	CS	1	-	MandatoryComponentType	Mandatory Component Type
00760040	SQ	1	-	ComponentSequence	Component Sequence
00760055	US	1	-	ComponentID	Component ID
00760060	SQ	1	-	ComponentAssemblySequence	Component Assembly Sequence
00760070	US	1	-	Component1ReferencedID	Component 1 Referenced ID
00760080	US	1	-	Component1ReferencedMatingFeatureSetID	Component 1 Referenced Mating Feature Set ID
00760090	US	1	-	Component1ReferencedMatingFeatureID	Component 1 Referenced Mating Feature ID
007600A0	US	1	-	Component2ReferencedID	Component 2 Referenced ID
007600B0	US	1	-	Component2ReferencedMatingFeatureSetID	Component 2 Referenced Mating Feature Set ID
007600C0	US	1	-	Component2ReferencedMatingFeatureID	Component 2 Referenced Mating Feature ID
00780001	LO	1	-	ImplantTemplateGroupName	Implant Template Group Name
00780010	ST	1	-	ImplantTemplateGroupDescription	Implant Template Group Description
00780020	LO	1	-	ImplantTemplateGroupIssuer	Implant Template Group Issuer
00780024	LO	1	-	ImplantTemplateGroupVersion	Implant Template Group Version
00780026	SQ	1	-	ReplacedImplantTemplateGroupSequence	Replaced Implant Template Group Sequence
00780028	SQ	1	-	ImplantTemplateGroupTargetAnatomySequence	Implant Template Group Target Anatomy Sequence
0078002A	SQ	1	-	ImplantTemplateGroupMembersSequence	Implant Template Group Members Sequence
0078002E	US	1	-	ImplantTemplateGroupMemberID	Implant Template Group Member ID
00780050	FD	3	-	ThreeDImplantTemplateGroupMemberMatchingPoint	3D Implant Template Group Member Matching Point
00780060	FD	9	-	ThreeDImplantTemplateGroupMemberMatchingAxes	3D Implant Template Group Member Matching Axes
00780070	SQ	1	-	ImplantTemplateGroupMemberMatching2DCoordinatesSequence	Implant Template Group Member Matching 2D Coordinates Sequence
00780090	FD	2	-	TwoDImplantTemplateGroupMemberMatchingPoint	2D Implant Template Group Member Matching Point
007800A0	FD	4	-	TwoDImplantTemplateGroupMemberMatchingAxes	2D Implant Template Group Member Matching Axes
007800B0	SQ	1	-	ImplantTemplateGroupVariationDimensionSequence	Implant Template Group Variation Dimension Sequence
007800B2	LO	1	-	ImplantTemplateGroupVariationDimensionName	Implant Template Group Variation Dimension Name
007800B4	SQ	1	-	ImplantTemplateGroupVariationDimensionRankSequence	Implant Template Group Variation Dimension Rank Sequence
007800B6	US	1	-	ReferencedImplantTemplateGroupMemberID	Referenced Implant Template Group Member ID
007800B8	US	1	-	ImplantTemplateGroupVariationDimensionRank	Implant Template Group Variation Dimension Rank
00800001	SQ	1	-	SurfaceScanAcquisitionTypeCodeSequence	Surface Scan Acquisition Type Code Sequence
00800002	SQ	1	-	SurfaceScanModeCodeSequence	Surface Scan Mode Code Sequence
00800003	SQ	1	-	RegistrationMethodCodeSequence	Registration Method Code Sequence
00800004	FD	1	-	ShotDurationTime	Shot Duration Time
00800005	FD	1	-	ShotOffsetTime	Shot Offset Time
00800006	US	1-n	-	SurfacePointPresentationValueData	Surface Point Presentation Value Data
00800007	US	3-3n	-	SurfacePointColorCIELabValueData	Surface Point Color CIELab Value Data
00800008	SQ	1	-	UVMappingSequence	UV Mapping Sequence
00800009	SH	1	-	TextureLabel	Texture Label
00800010	OF	1	-	UValueData	U Value Data
00800011	OF	1	-	VValueData	V Value Data
00800012	SQ	1	-	ReferencedTextureSequence	Referenced Texture Sequence
00800013	SQ	1	-	ReferencedSurfaceDataSequence	Referenced Surface Data Sequence
00820001	CS	1	-	AssessmentSummary	Assessment Summary
00820003	UT	1	-	AssessmentSummaryDescription	Assessment Summary Description
00820004	SQ	1	-	AssessedSOPInstanceSequence	Assessed SOP Instance Sequence
00820005	SQ	1	-	ReferencedComparisonSOPInstanceSequence	Referenced Comparison SOP Instance Sequence
00820006	UL	1	-	NumberOfAssessmentObservations	Number of Assessment Observations
00820007	SQ	1	-	AssessmentObservationsSequence	Assessment Observations Sequence
00820008	CS	1	-	ObservationSignificance	Observation Significance
0082000A	UT	1	-	ObservationDescription	Observation Description
0082000C	SQ	1	-	StructuredConstraintObservationSequence	Structured Constraint Observation Sequence
00820010	SQ	1	-	AssessedAttributeValueSequence	Assessed Attribute Value Sequence
00820016	LO	1	-	AssessmentSetID	Assessment Set ID
00820017	SQ	1	-	AssessmentRequesterSequence	Assessment Requester Sequence
00820018	LO	1	-	SelectorAttributeName	Selector Attribute Name
00820019	LO	1	-	SelectorAttributeKeyword	Selector Attribute Keyword
00820021	SQ	1	-	AssessmentTypeCodeSequence	Assessment Type Code Sequence
00820022	SQ	1	-	ObservationBasisCodeSequence	Observation Basis Code Sequence
00820023	LO	1	-	AssessmentLabel	Assessment Label
00820032	CS	1	-	ConstraintType	Constraint Type
00820033	UT	1	-	SpecificationSelectionGuidance	Specification Selection Guidance
00820034	SQ	1	-	ConstraintValueSequence	Constraint Value Sequence
00820035	SQ	1	-	RecommendedDefaultValueSequence	Recommended Default Value Sequence
00820036	CS	1	-	ConstraintViolationSignificance	Constraint Violation Significance
00820037	UT	1	-	ConstraintViolationCondition	Constraint Violation Condition
00820038	CS	1	-	ModifiableConstraintFlag	Modifiable Constraint Flag
00880130	SH	1	-	StorageMediaFileSetID	Storage Media File-set ID
00880140	UI	1	-	StorageMediaFileSetUID	Storage Media File-set UID
00880200	SQ	1	-	IconImageSequence	Icon Image Sequence
00880904	LO	1	R	TopicTitle	Topic Title
00880906	ST	1	R	TopicSubject	Topic Subject
00880910	LO	1	R	TopicAuthor	Topic Author
00880912	LO	1-32	R	TopicKeywords	Topic Keywords
01000410	CS	1	-	SOPInstanceStatus	SOP Instance Status
01000420	DT	1	-	SOPAuthorizationDateTime	SOP Authorization DateTime
01000424	LT	1	-	SOPAuthorizationComment	SOP Authorization Comment
01000426	LO	1	-	AuthorizationEquipmentCertificationNumber	Authorization Equipment Certification Number
04000005	US	1	-	MACIDNumber	MAC ID Number
04000010	UI	1	-	MACCalculationTransferSyntaxUID	MAC Calculation Transfer Syntax UID
04000015	CS	1	-	MACAlgorithm	MAC Algorithm
04000020	AT	1-n	-	DataElementsSigned	Data Elements Signed
04000100	UI	1	-	DigitalSignatureUID	Digital Signature UID
04000105	DT	1	-	DigitalSignatureDateTime	Digital Signature DateTime
04000110	CS	1	-	CertificateType	Certificate Type
04000115	OB	1	-	CertificateOfSigner	Certificate of Signer
04000120	OB	1	-	Signature	Signature
04000305	CS	1	-	CertifiedTimestampType	Certified Timestamp Type
04000310	OB	1	-	CertifiedTimestamp	Certified Timestamp
04000315	FL	1	R		
04000401	SQ	1	-	DigitalSignaturePurposeCodeSequence	Digital Signature Purpose Code Sequence
04000402	SQ	1	-	ReferencedDigitalSignatureSequence	Referenced Digital Signature Sequence
04000403	SQ	1	-	ReferencedSOPInstanceMACSequence	Referenced SOP Instance MAC Sequence
04000404	OB	1	-	MAC	MAC
04000500	SQ	1	-	EncryptedAttributesSequence	Encrypted Attributes Sequence
04000510	UI	1	-	EncryptedContentTransferSyntaxUID	Encrypted Content Transfer Syntax UID
04000520	OB	1	-	EncryptedContent	Encrypted Content
04000550	SQ	1	-	ModifiedAttributesSequence	Modified Attributes Sequence
04000551	SQ	1	-	NonconformingModifiedAttributesSequence	Nonconforming Modified Attributes Sequence
04000552	OB	1	-	NonconformingDataElementValue	Nonconforming Data Element Value
04000561	SQ	1	-	OriginalAttributesSequence	Original Attributes Sequence
04000562	DT	1	-	AttributeModificationDateTime	Attribute Modification DateTime
04000563	LO	1	-	ModifyingSystem	Modifying System
04000564	LO	1	-	SourceOfPreviousValues	Source of Previous Values
04000565	CS	1	-	ReasonForTheAttributeModification	Reason for the Attribute Modification
04000600	CS	1	-	InstanceOriginStatus	Instance Origin Status
20000010	IS	1	-	NumberOfCopies	Number of Copies
2000001E	SQ	1	-	PrinterConfigurationSequence	Printer Configuration Sequence
20000020	CS	1	-	PrintPriority	Print Priority
20000030	CS	1	-	MediumType	Medium Type
20000040	CS	1	-	FilmDestination	Film Destination
20000050	LO	1	-	FilmSessionLabel	Film Session Label
20000060	IS	1	-	MemoryAllocation	Memory Allocation
20000061	IS	1	-	MaximumMemoryAllocation	Maximum Memory Allocation
20000062	CS	1	R	ColorImagePrintingFlag	Color Image Printing Flag
20000063	CS	1	R	CollationFlag	Collation Flag
20000065	CS	1	R	AnnotationFlag	Annotation Flag
20000067	CS	1	R	ImageOverlayFlag	Image Overlay Flag
20000069	CS	1	R	PresentationLUTFlag	Presentation LUT Flag
2000006A	CS	1	R	ImageBoxPresentationLUTFlag	Image Box Presentation LUT Flag
200000A0	US	1	-	MemoryBitDepth	Memory Bit Depth
200000A1	US	1	-	PrintingBitDepth	Printing Bit Depth
200000A2	SQ	1	-	MediaInstalledSequence	Media Installed Sequence
200000A4	SQ	1	-	OtherMediaAvailableSequence	Other Media Available Sequence
200000A8	SQ	1	-	SupportedImageDisplayFormatsSequence	Supported Image Display Formats Sequence
20000500	SQ	1	-	ReferencedFilmBoxSequence	Referenced Film Box Sequence
20000510	SQ	1	R	ReferencedStoredPrintSequence	Referenced Stored Print Sequence
20100010	ST	1	-	ImageDisplayFormat	Image Display Format
20100030	CS	1	-	AnnotationDisplayFormatID	Annotation Display Format ID
20100040	CS	1	-	FilmOrientation	Film Orientation
20100050	CS	1	-	FilmSizeID	Film Size ID
20100052	CS	1	-	PrinterResolutionID	Printer Resolution ID
20100054	CS	1	-	DefaultPrinterResolutionID	Default Printer Resolution ID
20100060	CS	1	-	MagnificationType	Magnification Type
20100080	CS	1	-	SmoothingType	Smoothing Type
201000A6	CS	1	-	DefaultMagnificationType	Default Magnification Type
201000A7	CS	1-n	-	OtherMagnificationTypesAvailable	Other Magnification Types Available
201000A8	CS	1	-	DefaultSmoothingType	Default Smoothing Type
201000A9	CS	1-n	-	OtherSmoothingTypesAvailable	Other Smoothing Types Available
20100100	CS	1	-	BorderDensity	Border Density
20100110	CS	1	-	EmptyImageDensity	Empty Image Density
20100120	US	1	-	MinDensity	Min Density
20100130	US	1	-	MaxDensity	Max Density
20100140	CS	1	-	Trim	Trim
20100150	ST	1	-	ConfigurationInformation	Configuration Information
20100152	LT	1	-	ConfigurationInformationDescription	Configuration Information Description
20100154	IS	1	-	MaximumCollatedFilms	Maximum Collated Films
2010015E	US	1	-	Illumination	Illumination
20100160	US	1	-	ReflectedAmbientLight	Reflected Ambient Light
20100376	DS	2	-	PrinterPixelSpacing	Printer Pixel Spacing
20100500	SQ	1	-	ReferencedFilmSessionSequence	Referenced Film Session Sequence
20100510	SQ	1	-	ReferencedImageBoxSequence	Referenced Image Box Sequence
20100520	SQ	1	-	ReferencedBasicAnnotationBoxSequence	Referenced Basic Annotation Box Sequence
20200010	US	1	-	ImageBoxPosition	Image Box Position
20200020	CS	1	-	Polarity	Polarity
20200030	DS	1	-	RequestedImageSize	Requested Image Size
20200040	CS	1	-	RequestedDecimateCropBehavior	Requested Decimate/Crop Behavior
20200050	CS	1	-	RequestedResolutionID	Requested Resolution ID
202000A0	CS	1	-	RequestedImageSizeFlag	Requested Image Size Flag
202000A2	CS	1	-	DecimateCropResult	Decimate/Crop Result
20200110	SQ	1	-	BasicGrayscaleImageSequence	Basic Grayscale Image Sequence
20200111	SQ	1	-	BasicColorImageSequence	Basic Color Image Sequence
20200130	SQ	1	R	ReferencedImageOverlayBoxSequence	Referenced Image Overlay Box Sequence
20200140	SQ	1	R	ReferencedVOILUTBoxSequence	Referenced VOI LUT Box Sequence
20300010	US	1	-	AnnotationPosition	Annotation Position
20300020	LO	1	-	TextString	Text String
20400010	SQ	1	R	ReferencedOverlayPlaneSequence	Referenced Overlay Plane Sequence
20400011	US	1-99	R	ReferencedOverlayPlaneGroups	Referenced Overlay Plane Groups
20400020	SQ	1	R	OverlayPixelDataSequence	Overlay Pixel Data Sequence
20400060	CS	1	R	OverlayMagnificationType	Overlay Magnification Type
20400070	CS	1	R	OverlaySmoothingType	Overlay Smoothing Type
20400072	CS	1	R	OverlayOrImageMagnification	Overlay or Image Magnification
20400074	US	1	R	MagnifyToNumberOfColumns	Magnify to Number of Columns
20400080	CS	1	R	OverlayForegroundDensity	Overlay Foreground Density
20400082	CS	1	R	OverlayBackgroundDensity	Overlay Background Density
20400090	CS	1	R	OverlayMode	Overlay Mode
20400100	CS	1	R	ThresholdDensity	Threshold Density
20400500	SQ	1	R	ReferencedImageBoxSequenceRetired	Referenced Image Box Sequence (Retired)
20500010	SQ	1	-	PresentationLUTSequence	Presentation LUT Sequence
20500020	CS	1	-	PresentationLUTShape	Presentation LUT Shape
20500500	SQ	1	-	ReferencedPresentationLUTSequence	Referenced Presentation LUT Sequence
21000010	SH	1	R	PrintJobID	Print Job ID
21000020	CS	1	-	ExecutionStatus	Execution Status
21000030	CS	1	-	ExecutionStatusInfo	Execution Status Info
21000040	DA	1	-	CreationDate	Creation Date
21000050	TM	1	-	CreationTime	Creation Time
21000070	AE	1	-	Originator	Originator
21000140	AE	1	-	DestinationAE	Destination AE
21000160	SH	1	-	OwnerID	Owner ID
21000170	IS	1	-	NumberOfFilms	Number of Films
21000500	SQ	1	R	ReferencedPrintJobSequencePullStoredPrint	Referenced Print Job Sequence (Pull Stored Print)
21100010	CS	1	-	PrinterStatus	Printer Status
21100020	CS	1	-	PrinterStatusInfo	Printer Status Info
21100030	LO	1	-	PrinterName	Printer Name
21100099	SH	1	R	PrintQueueID	Print Queue ID
21200010	CS	1	R	QueueStatus	Queue Status
21200050	SQ	1	R	PrintJobDescriptionSequence	Print Job Description Sequence
21200070	SQ	1	R	ReferencedPrintJobSequence	Referenced Print Job Sequence
21300010	SQ	1	R	PrintManagementCapabilitiesSequence	Print Management Capabilities Sequence
21300015	SQ	1	R	PrinterCharacteristicsSequence	Printer Characteristics Sequence
21300030	SQ	1	R	FilmBoxContentSequence	Film Box Content Sequence
21300040	SQ	1	R	ImageBoxContentSequence	Image Box Content Sequence
21300050	SQ	1	R	AnnotationContentSequence	Annotation Content Sequence
21300060	SQ	1	R	ImageOverlayBoxContentSequence	Image Overlay Box Content Sequence
21300080	SQ	1	R	PresentationLUTContentSequence	Presentation LUT Content Sequence
213000A0	SQ	1	-	ProposedStudySequence	Proposed Study Sequence
213000C0	SQ	1	-	OriginalImageSequence	Original Image Sequence
22000001	CS	1	-	LabelUsingInformationExtractedFromInstances	Label Using Information Extracted From Instances
22000002	UT	1	-	LabelText	Label Text
22000003	CS	1	-	LabelStyleSelection	Label Style Selection
22000004	LT	1	-	MediaDisposition	Media Disposition
22000005	LT	1	-	BarcodeValue	Barcode Value
22000006	CS	1	-	BarcodeSymbology	Barcode Symbology
22000007	CS	1	-	AllowMediaSplitting	Allow Media Splitting
22000008	CS	1	-	IncludeNonDICOMObjects	Include Non-DICOM Objects
22000009	CS	1	-	IncludeDisplayApplication	Include Display Application
2200000A	CS	1	-	PreserveCompositeInstancesAfterMediaCreation	Preserve Composite Instances After Media Creation
2200000B	US	1	-	TotalNumberOfPiecesOfMediaCreated	Total Number of Pieces of Media Created
2200000C	LO	1	-	RequestedMediaApplicationProfile	Requested Media Application Profile
2200000D	SQ	1	-	ReferencedStorageMediaSequence	Referenced Storage Media Sequence
2200000E	AT	1-n	-	FailureAttributes	Failure Attributes
2200000F	CS	1	-	AllowLossyCompression	Allow Lossy Compression
22000020	CS	1	-	RequestPriority	Request Priority
30020002	SH	1	-	RTImageLabel	RT Image Label
30020003	LO	1	-	RTImageName	RT Image Name
30020004	ST	1	-	RTImageDescription	RT Image Description
3002000A	CS	1	-	ReportedValuesOrigin	Reported Values Origin
3002000C	CS	1	-	RTImagePlane	RT Image Plane
3002000D	DS	3	-	XRayImageReceptorTranslation	X-Ray Image Receptor Translation
3002000E	DS	1	-	XRayImageReceptorAngle	X-Ray Image Receptor Angle
30020010	DS	6	-	RTImageOrientation	RT Image Orientation
30020011	DS	2	-	ImagePlanePixelSpacing	Image Plane Pixel Spacing
30020012	DS	2	-	RTImagePosition	RT Image Position
30020020	SH	1	-	RadiationMachineName	Radiation Machine Name
30020022	DS	1	-	RadiationMachineSAD	Radiation Machine SAD
30020024	DS	1	-	RadiationMachineSSD	Radiation Machine SSD
30020026	DS	1	-	RTImageSID	RT Image SID
30020028	DS	1	-	SourceToReferenceObjectDistance	Source to Reference Object Distance
30020029	IS	1	-	FractionNumber	Fraction Number
30020030	SQ	1	-	ExposureSequence	Exposure Sequence
30020032	DS	1	-	MetersetExposure	Meterset Exposure
30020034	DS	4	-	DiaphragmPosition	Diaphragm Position
30020040	SQ	1	-	FluenceMapSequence	Fluence Map Sequence
30020041	CS	1	-	FluenceDataSource	Fluence Data Source
30020042	DS	1	-	FluenceDataScale	Fluence Data Scale
30020050	SQ	1	-	PrimaryFluenceModeSequence	Primary Fluence Mode Sequence
30020051	CS	1	-	FluenceMode	Fluence Mode
30020052	SH	1	-	FluenceModeID	Fluence Mode ID
30020100	IS	1	-	SelectedFrameNumber	Selected Frame Number
30020101	SQ	1	-	SelectedFrameFunctionalGroupsSequence	Selected Frame Functional Groups Sequence
30020102	SQ	1	-	RTImageFrameGeneralContentSequence	RT Image Frame General Content Sequence
30020103	SQ	1	-	RTImageFrameContextSequence	RT Image Frame Context Sequence
30020104	SQ	1	-	RTImageScopeSequence	RT Image Scope Sequence
30020105	CS	1	-	BeamModifierCoordinatesPresenceFlag	Beam Modifier Coordinates Presence Flag
30020106	FD	1	-	StartCumulativeMeterset	Start Cumulative Meterset
30020107	FD	1	-	StopCumulativeMeterset	Stop Cumulative Meterset
30020108	SQ	1	-	RTAcquisitionPatientPositionSequence	RT Acquisition Patient Position Sequence
30020109	SQ	1	-	RTImageFrameImagingDevicePositionSequence	RT Image Frame Imaging Device Position Sequence
3002010A	SQ	1	-	RTImageFramekVRadiationAcquisitionSequence	RT Image Frame kV Radiation Acquisition Sequence
3002010B	SQ	1	-	RTImageFrameMVRadiationAcquisitionSequence	RT Image Frame MV Radiation Acquisition Sequence
3002010C	SQ	1	-	RTImageFrameRadiationAcquisitionSequence	RT Image Frame Radiation Acquisition Sequence
3002010D	SQ	1	-	ImagingSourcePositionSequence	Imaging Source Position Sequence
3002010E	SQ	1	-	ImageReceptorPositionSequence	Image Receptor Position Sequence
3002010F	FD	16	-	DevicePositionToEquipmentMappingMatrix	Device Position to Equipment Mapping Matrix
30020110	SQ	1	-	DevicePositionParameterSequence	Device Position Parameter Sequence
30020111	CS	1	-	ImagingSourceLocationSpecificationType	Imaging Source Location Specification Type
30020112	SQ	1	-	ImagingDeviceLocationMatrixSequence	Imaging Device Location Matrix Sequence
30020113	SQ	1	-	ImagingDeviceLocationParameterSequence	Imaging Device Location Parameter Sequence
30020114	SQ	1	-	ImagingApertureSequence	Imaging Aperture Sequence
30020115	CS	1	-	ImagingApertureSpecificationType	Imaging Aperture Specification Type
30020116	US	1	-	NumberOfAcquisitionDevices	Number of Acquisition Devices
30020117	SQ	1	-	AcquisitionDeviceSequence	Acquisition Device Sequence
30020118	SQ	1	-	AcquisitionTaskSequence	Acquisition Task Sequence
30020119	SQ	1	-	AcquisitionTaskWorkitemCodeSequence	Acquisition Task Workitem Code Sequence
3002011A	SQ	1	-	AcquisitionSubtaskSequence	Acquisition Subtask Sequence
3002011B	SQ	1	-	SubtaskWorkitemCodeSequence	Subtask Workitem Code Sequence
3002011C	US	1	-	AcquisitionTaskIndex	Acquisition Task Index
3002011D	US	1	-	AcquisitionSubtaskIndex	Acquisition Subtask Index
3002011E	SQ	1	-	ReferencedBaselineParametersRTRadiationInstanceSequence	Referenced Baseline Parameters RT Radiation Instance Sequence
3002011F	SQ	1	-	PositionAcquisitionTemplateIdentificationSequence	Position Acquisition Template Identification Sequence
30020120	ST	1	-	PositionAcquisitionTemplateID	Position Acquisition Template ID
30020121	LO	1	-	PositionAcquisitionTemplateName	Position Acquisition Template Name
30020122	SQ	1	-	PositionAcquisitionTemplateCodeSequence	Position Acquisition Template Code Sequence
30020123	LT	1	-	PositionAcquisitionTemplateDescription	Position Acquisition Template Description
30020124	SQ	1	-	AcquisitionTaskApplicabilitySequence	Acquisition Task Applicability Sequence
30020125	SQ	1	-	ProjectionImagingAcquisitionParameterSequence	Projection Imaging Acquisition Parameter Sequence
30020126	SQ	1	-	CTImagingAcquisitionParameterSequence	CT Imaging Acquisition Parameter Sequence
30020127	SQ	1	-	KVImagingGenerationParametersSequence	KV Imaging Generation Parameters Sequence
30020128	SQ	1	-	MVImagingGenerationParametersSequence	MV Imaging Generation Parameters Sequence
30020129	CS	1	-	AcquisitionSignalType	Acquisition Signal Type
3002012A	CS	1	-	AcquisitionMethod	Acquisition Method
3002012B	SQ	1	-	ScanStartPositionSequence	Scan Start Position Sequence
3002012C	SQ	1	-	ScanStopPositionSequence	Scan Stop Position Sequence
3002012D	FD	1	-	ImagingSourceToBeamModifierDefinitionPlaneDistance	Imaging Source to Beam Modifier Definition Plane Distance
3002012E	CS	1	-	ScanArcType	Scan Arc Type
3002012F	CS	1	-	DetectorPositioningType	Detector Positioning Type
30020130	SQ	1	-	AdditionalRTAccessoryDeviceSequence	Additional RT Accessory Device Sequence
30020131	SQ	1	-	DeviceSpecificAcquisitionParameterSequence	Device-Specific Acquisition Parameter Sequence
30020132	SQ	1	-	ReferencedPositionReferenceInstanceSequence	Referenced Position Reference Instance Sequence
30020133	SQ	1	-	EnergyDerivationCodeSequence	Energy Derivation Code Sequence
30020134	FD	1	-	MaximumCumulativeMetersetExposure	Maximum Cumulative Meterset Exposure
30020135	SQ	1	-	AcquisitionInitiationSequence	Acquisition Initiation Sequence
30040001	CS	1	-	DVHType	DVH Type
30040002	CS	1	-	DoseUnits	Dose Units
30040004	CS	1	-	DoseType	Dose Type
30040005	CS	1	-	SpatialTransformOfDose	Spatial Transform of Dose
30040006	LO	1	-	DoseComment	Dose Comment
30040008	DS	3	-	NormalizationPoint	Normalization Point
3004000A	CS	1	-	DoseSummationType	Dose Summation Type
3004000C	DS	2-n	-	GridFrameOffsetVector	Grid Frame Offset Vector
3004000E	DS	1	-	DoseGridScaling	Dose Grid Scaling
30040010	SQ	1	R	RTDoseROISequence	RT Dose ROI Sequence
30040012	DS	1	R	DoseValue	Dose Value
30040014	CS	1-3	-	TissueHeterogeneityCorrection	Tissue Heterogeneity Correction
30040040	DS	3	-	DVHNormalizationPoint	DVH Normalization Point
30040042	DS	1	-	DVHNormalizationDoseValue	DVH Normalization Dose Value
30040050	SQ	1	-	DVHSequence	DVH Sequence
30040052	DS	1	-	DVHDoseScaling	DVH Dose Scaling
30040054	CS	1	-	DVHVolumeUnits	DVH Volume Units
30040056	IS	1	-	DVHNumberOfBins	DVH Number of Bins
30040058	DS	2-2n	-	DVHData	DVH Data
30040060	SQ	1	-	DVHReferencedROISequence	DVH Referenced ROI Sequence
30040062	CS	1	-	DVHROIContributionType	DVH ROI Contribution Type
30040070	DS	1	-	DVHMinimumDose	DVH Minimum Dose
30040072	DS	1	-	DVHMaximumDose	DVH Maximum Dose
30040074	DS	1	-	DVHMeanDose	DVH Mean Dose
30060002	SH	1	-	StructureSetLabel	Structure Set Label
30060004	LO	1	-	StructureSetName	Structure Set Name
30060006	ST	1	-	StructureSetDescription	Structure Set Description
30060008	DA	1	-	StructureSetDate	Structure Set Date
30060009	TM	1	-	StructureSetTime	Structure Set Time
30060010	SQ	1	-	ReferencedFrameOfReferenceSequence	Referenced Frame of Reference Sequence
30060012	SQ	1	-	RTReferencedStudySequence	RT Referenced Study Sequence
30060014	SQ	1	-	RTReferencedSeriesSequence	RT Referenced Series Sequence
30060016	SQ	1	-	ContourImageSequence	Contour Image Sequence
30060018	SQ	1	-	PredecessorStructureSetSequence	Predecessor Structure Set Sequence
30060020	SQ	1	-	StructureSetROISequence	Structure Set ROI Sequence
30060022	IS	1	-	ROINumber	ROI Number
30060024	UI	1	-	ReferencedFrameOfReferenceUID	Referenced Frame of Reference UID
30060026	LO	1	-	ROIName	ROI Name
30060028	ST	1	-	ROIDescription	ROI Description
3006002A	IS	3	-	ROIDisplayColor	ROI Display Color
3006002C	DS	1	-	ROIVolume	ROI Volume
3006002D	DT	1	-	ROIDateTime	ROI DateTime
3006002E	DT	1	-	ROIObservationDateTime	ROI Observation DateTime
30060030	SQ	1	-	RTRelatedROISequence	RT Related ROI Sequence
30060033	CS	1	-	RTROIRelationship	RT ROI Relationship
30060036	CS	1	-	ROIGenerationAlgorithm	ROI Generation Algorithm
30060037	SQ	1	-	ROIDerivationAlgorithmIdentificationSequence	ROI Derivation Algorithm Identification Sequence
30060038	LO	1	-	ROIGenerationDescription	ROI Generation Description
30060039	SQ	1	-	ROIContourSequence	ROI Contour Sequence
30060040	SQ	1	-	ContourSequence	Contour Sequence
30060042	CS	1	-	ContourGeometricType	Contour Geometric Type
30060044	DS	1	R	ContourSlabThickness	Contour Slab Thickness
30060045	DS	3	R	ContourOffsetVector	Contour Offset Vector
30060046	IS	1	-	NumberOfContourPoints	Number of Contour Points
30060048	IS	1	-	ContourNumber	Contour Number
30060049	IS	1-n	R	AttachedContours	Attached Contours
3006004A	SQ	1	-	SourcePixelPlanesCharacteristicsSequence	Source Pixel Planes Characteristics Sequence
3006004B	SQ	1	-	SourceSeriesSequence	Source Series Sequence
3006004C	SQ	1	-	SourceSeriesInformationSequence	Source Series Information Sequence
3006004D	SQ	1	-	ROICreatorSequence	ROI Creator Sequence
3006004E	SQ	1	-	ROIInterpreterSequence	ROI Interpreter Sequence
3006004F	SQ	1	-	ROIObservationContextCodeSequence	ROI Observation Context Code Sequence
30060050	DS	3-3n	-	ContourData	Contour Data
30060080	SQ	1	-	RTROIObservationsSequence	RT ROI Observations Sequence
30060082	IS	1	-	ObservationNumber	Observation Number
30060084	IS	1	-	ReferencedROINumber	Referenced ROI Number
30060085	SH	1	R	ROIObservationLabel	ROI Observation Label
30060086	SQ	1	-	RTROIIdentificationCodeSequence	RT ROI Identification Code Sequence
30060088	ST	1	R	ROIObservationDescription	ROI Observation Description
300600A0	SQ	1	-	RelatedRTROIObservationsSequence	Related RT ROI Observations Sequence
300600A4	CS	1	-	RTROIInterpretedType	RT ROI Interpreted Type
300600A6	PN	1	-	ROIInterpreter	ROI Interpreter
300600B0	SQ	1	-	ROIPhysicalPropertiesSequence	ROI Physical Properties Sequence
300600B2	CS	1	-	ROIPhysicalProperty	ROI Physical Property
300600B4	DS	1	-	ROIPhysicalPropertyValue	ROI Physical Property Value
300600B6	SQ	1	-	ROIElementalCompositionSequence	ROI Elemental Composition Sequence
300600B7	US	1	-	ROIElementalCompositionAtomicNumber	ROI Elemental Composition Atomic Number
300600B8	FL	1	-	ROIElementalCompositionAtomicMassFraction	ROI Elemental Composition Atomic Mass Fraction
300600B9	SQ	1	R	AdditionalRTROIIdentificationCodeSequence	Additional RT ROI Identification Code Sequence
300600C0	SQ	1	R	FrameOfReferenceRelationshipSequence	Frame of Reference Relationship Sequence
300600C2	UI	1	R	RelatedFrameOfReferenceUID	Related Frame of Reference UID
300600C4	CS	1	R	FrameOfReferenceTransformationType	Frame of Reference Transformation Type
300600C6	DS	16	-	FrameOfReferenceTransformationMatrix	Frame of Reference Transformation Matrix
300600C8	LO	1	-	FrameOfReferenceTransformationComment	Frame of Reference Transformation Comment
300600C9	SQ	1	-	PatientLocationCoordinatesSequence	Patient Location Coordinates Sequence
300600CA	SQ	1	-	PatientLocationCoordinatesCodeSequence	Patient Location Coordinates Code Sequence
300600CB	SQ	1	-	PatientSupportPositionSequence	Patient Support Position Sequence
30080010	SQ	1	-	MeasuredDoseReferenceSequence	Measured Dose Reference Sequence
30080012	ST	1	-	MeasuredDoseDescription	Measured Dose Description
30080014	CS	1	-	MeasuredDoseType	Measured Dose Type
30080016	DS	1	-	MeasuredDoseValue	Measured Dose Value
30080020	SQ	1	-	TreatmentSessionBeamSequence	Treatment Session Beam Sequence
30080021	SQ	1	-	TreatmentSessionIonBeamSequence	Treatment Session Ion Beam Sequence
30080022	IS	1	-	CurrentFractionNumber	Current Fraction Number
30080024	DA	1	-	TreatmentControlPointDate	Treatment Control Point Date
30080025	TM	1	-	TreatmentControlPointTime	Treatment Control Point Time
3008002A	CS	1	-	TreatmentTerminationStatus	Treatment Termination Status
3008002B	SH	1	R	TreatmentTerminationCode	Treatment Termination Code
3008002C	CS	1	-	TreatmentVerificationStatus	Treatment Verification Status
30080030	SQ	1	-	ReferencedTreatmentRecordSequence	Referenced Treatment Record Sequence
30080032	DS	1	-	SpecifiedPrimaryMeterset	Specified Primary Meterset
30080033	DS	1	-	SpecifiedSecondaryMeterset	Specified Secondary Meterset
30080036	DS	1	-	DeliveredPrimaryMeterset	Delivered Primary Meterset
30080037	DS	1	-	DeliveredSecondaryMeterset	Delivered Secondary Meterset
3008003A	DS	1	-	SpecifiedTreatmentTime	Specified Treatment Time
3008003B	DS	1	-	DeliveredTreatmentTime	Delivered Treatment Time
30080040	SQ	1	-	ControlPointDeliverySequence	Control Point Delivery Sequence
30080041	SQ	1	-	IonControlPointDeliverySequence	Ion Control Point Delivery Sequence
30080042	DS	1	-	SpecifiedMeterset	Specified Meterset
30080044	DS	1	-	DeliveredMeterset	Delivered Meterset
30080045	FL	1	-	MetersetRateSet	Meterset Rate Set
30080046	FL	1	-	MetersetRateDelivered	Meterset Rate Delivered
30080047	FL	1-n	-	ScanSpotMetersetsDelivered	Scan Spot Metersets Delivered
30080048	DS	1	-	DoseRateDelivered	Dose Rate Delivered
30080050	SQ	1	-	TreatmentSummaryCalculatedDoseReferenceSequence	Treatment Summary Calculated Dose Reference Sequence
30080052	DS	1	-	CumulativeDoseToDoseReference	Cumulative Dose to Dose Reference
30080054	DA	1	-	FirstTreatmentDate	First Treatment Date
30080056	DA	1	-	MostRecentTreatmentDate	Most Recent Treatment Date
3008005A	IS	1	-	NumberOfFractionsDelivered	Number of Fractions Delivered
30080060	SQ	1	-	OverrideSequence	Override Sequence
30080061	AT	1	-	ParameterSequencePointer	Parameter Sequence Pointer
30080062	AT	1	-	OverrideParameterPointer	Override Parameter Pointer
30080063	IS	1	-	ParameterItemIndex	Parameter Item Index
30080064	IS	1	-	MeasuredDoseReferenceNumber	Measured Dose Reference Number
30080065	AT	1	-	ParameterPointer	Parameter Pointer
30080066	ST	1	-	OverrideReason	Override Reason
30080067	US	1	-	ParameterValueNumber	Parameter Value Number
30080068	SQ	1	-	CorrectedParameterSequence	Corrected Parameter Sequence
3008006A	FL	1	-	CorrectionValue	Correction Value
30080070	SQ	1	-	CalculatedDoseReferenceSequence	Calculated Dose Reference Sequence
30080072	IS	1	-	CalculatedDoseReferenceNumber	Calculated Dose Reference Number
30080074	ST	1	-	CalculatedDoseReferenceDescription	Calculated Dose Reference Description
30080076	DS	1	-	CalculatedDoseReferenceDoseValue	Calculated Dose Reference Dose Value
30080078	DS	1	-	StartMeterset	Start Meterset
3008007A	DS	1	-	EndMeterset	End Meterset
30080080	SQ	1	-	ReferencedMeasuredDoseReferenceSequence	Referenced Measured Dose Reference Sequence
30080082	IS	1	-	ReferencedMeasuredDoseReferenceNumber	Referenced Measured Dose Reference Number
30080090	SQ	1	-	ReferencedCalculatedDoseReferenceSequence	Referenced Calculated Dose Reference Sequence
30080092	IS	1	-	ReferencedCalculatedDoseReferenceNumber	Referenced Calculated Dose Reference Number
300800A0	SQ	1	-	BeamLimitingDeviceLeafPairsSequence	Beam Limiting Device Leaf Pairs Sequence
300800A1	SQ	1	-	EnhancedRTBeamLimitingDeviceSequence	Enhanced RT Beam Limiting Device Sequence
300800A2	SQ	1	-	EnhancedRTBeamLimitingOpeningSequence	Enhanced RT Beam Limiting Opening Sequence
300800A3	CS	1	-	EnhancedRTBeamLimitingDeviceDefinitionFlag	Enhanced RT Beam Limiting Device Definition Flag
300800A4	FD	2-2n	-	ParallelRTBeamDelimiterOpeningExtents	Parallel RT Beam Delimiter Opening Extents
300800B0	SQ	1	-	RecordedWedgeSequence	Recorded Wedge Sequence
300800C0	SQ	1	-	RecordedCompensatorSequence	Recorded Compensator Sequence
300800D0	SQ	1	-	RecordedBlockSequence	Recorded Block Sequence
300800D1	SQ	1	-	RecordedBlockSlabSequence	Recorded Block Slab Sequence
300800E0	SQ	1	-	TreatmentSummaryMeasuredDoseReferenceSequence	Treatment Summary Measured Dose Reference Sequence
300800F0	SQ	1	-	RecordedSnoutSequence	Recorded Snout Sequence
300800F2	SQ	1	-	RecordedRangeShifterSequence	Recorded Range Shifter Sequence
300800F4	SQ	1	-	RecordedLateralSpreadingDeviceSequence	Recorded Lateral Spreading Device Sequence
300800F6	SQ	1	-	RecordedRangeModulatorSequence	Recorded Range Modulator Sequence
30080100	SQ	1	-	RecordedSourceSequence	Recorded Source Sequence
30080105	LO	1	-	SourceSerialNumber	Source Serial Number
30080110	SQ	1	-	TreatmentSessionApplicationSetupSequence	Treatment Session Application Setup Sequence
30080116	CS	1	-	ApplicationSetupCheck	Application Setup Check
30080120	SQ	1	-	RecordedBrachyAccessoryDeviceSequence	Recorded Brachy Accessory Device Sequence
30080122	IS	1	-	ReferencedBrachyAccessoryDeviceNumber	Referenced Brachy Accessory Device Number
30080130	SQ	1	-	RecordedChannelSequence	Recorded Channel Sequence
30080132	DS	1	-	SpecifiedChannelTotalTime	Specified Channel Total Time
30080134	DS	1	-	DeliveredChannelTotalTime	Delivered Channel Total Time
30080136	IS	1	-	SpecifiedNumberOfPulses	Specified Number of Pulses
30080138	IS	1	-	DeliveredNumberOfPulses	Delivered Number of Pulses
3008013A	DS	1	-	SpecifiedPulseRepetitionInterval	Specified Pulse Repetition Interval
3008013C	DS	1	-	DeliveredPulseRepetitionInterval	Delivered Pulse Repetition Interval
30080140	SQ	1	-	RecordedSourceApplicatorSequence	Recorded Source Applicator Sequence
30080142	IS	1	-	ReferencedSourceApplicatorNumber	Referenced Source Applicator Number
30080150	SQ	1	-	RecordedChannelShieldSequence	Recorded Channel Shield Sequence
30080152	IS	1	-	ReferencedChannelShieldNumber	Referenced Channel Shield Number
30080160	SQ	1	-	BrachyControlPointDeliveredSequence	Brachy Control Point Delivered Sequence
30080162	DA	1	-	SafePositionExitDate	Safe Position Exit Date
30080164	TM	1	-	SafePositionExitTime	Safe Position Exit Time
30080166	DA	1	-	SafePositionReturnDate	Safe Position Return Date
30080168	TM	1	-	SafePositionReturnTime	Safe Position Return Time
30080171	SQ	1	-	PulseSpecificBrachyControlPointDeliveredSequence	Pulse Specific Brachy Control Point Delivered Sequence
30080172	US	1	-	PulseNumber	Pulse Number
30080173	SQ	1	-	BrachyPulseControlPointDeliveredSequence	Brachy Pulse Control Point Delivered Sequence
30080200	CS	1	-	CurrentTreatmentStatus	Current Treatment Status
30080202	ST	1	-	TreatmentStatusComment	Treatment Status Comment
30080220	SQ	1	-	FractionGroupSummarySequence	Fraction Group Summary Sequence
30080223	IS	1	-	ReferencedFractionNumber	Referenced Fraction Number
30080224	CS	1	-	FractionGroupType	Fraction Group Type
30080230	CS	1	-	BeamStopperPosition	Beam Stopper Position
30080240	SQ	1	-	FractionStatusSummarySequence	Fraction Status Summary Sequence
30080250	DA	1	-	TreatmentDate	Treatment Date
30080251	TM	1	-	TreatmentTime	Treatment Time
300A0002	SH	1	-	RTPlanLabel	RT Plan Label
300A0003	LO	1	-	RTPlanName	RT Plan Name
300A0004	ST	1	-	RTPlanDescription	RT Plan Description
300A0006	DA	1	-	RTPlanDate	RT Plan Date
300A0007	TM	1	-	RTPlanTime	RT Plan Time
300A0009	LO	1-n	-	TreatmentProtocols	Treatment Protocols
300A000A	CS	1	-	PlanIntent	Plan Intent
300A000B	LO	1-n	R	TreatmentSites	Treatment Sites
300A000C	CS	1	-	RTPlanGeometry	RT Plan Geometry
300A000E	ST	1	-	PrescriptionDescription	Prescription Description
300A0010	SQ	1	-	DoseReferenceSequence	Dose Reference Sequence
300A0012	IS	1	-	DoseReferenceNumber	Dose Reference Number
300A0013	UI	1	-	DoseReferenceUID	Dose Reference UID
300A0014	CS	1	-	DoseReferenceStructureType	Dose Reference Structure Type
300A0015	CS	1	-	NominalBeamEnergyUnit	Nominal Beam Energy Unit
300A0016	LO	1	-	DoseReferenceDescription	Dose Reference Description
300A0018	DS	3	-	DoseReferencePointCoordinates	Dose Reference Point Coordinates
300A001A	DS	1	-	NominalPriorDose	Nominal Prior Dose
300A0020	CS	1	-	DoseReferenceType	Dose Reference Type
300A0021	DS	1	-	ConstraintWeight	Constraint Weight
300A0022	DS	1	-	DeliveryWarningDose	Delivery Warning Dose
300A0023	DS	1	-	DeliveryMaximumDose	Delivery Maximum Dose
300A0025	DS	1	-	TargetMinimumDose	Target Minimum Dose
300A0026	DS	1	-	TargetPrescriptionDose	Target Prescription Dose
300A0027	DS	1	-	TargetMaximumDose	Target Maximum Dose
300A0028	DS	1	-	TargetUnderdoseVolumeFraction	Target Underdose Volume Fraction
300A002A	DS	1	-	OrganAtRiskFullVolumeDose	Organ at Risk Full-volume Dose
300A002B	DS	1	-	OrganAtRiskLimitDose	Organ at Risk Limit Dose
300A002C	DS	1	-	OrganAtRiskMaximumDose	Organ at Risk Maximum Dose
300A002D	DS	1	-	OrganAtRiskOverdoseVolumeFraction	Organ at Risk Overdose Volume Fraction
300A0040	SQ	1	-	ToleranceTableSequence	Tolerance Table Sequence
300A0042	IS	1	-	ToleranceTableNumber	Tolerance Table Number
300A0043	SH	1	-	ToleranceTableLabel	Tolerance Table Label
300A0044	DS	1	-	GantryAngleTolerance	Gantry Angle Tolerance
300A0046	DS	1	-	BeamLimitingDeviceAngleTolerance	Beam Limiting Device Angle Tolerance
300A0048	SQ	1	-	BeamLimitingDeviceToleranceSequence	Beam Limiting Device Tolerance Sequence
300A004A	DS	1	-	BeamLimitingDevicePositionTolerance	Beam Limiting Device Position Tolerance
300A004B	FL	1	-	SnoutPositionTolerance	Snout Position Tolerance
300A004C	DS	1	-	PatientSupportAngleTolerance	Patient Support Angle Tolerance
300A004E	DS	1	-	TableTopEccentricAngleTolerance	Table Top Eccentric Angle Tolerance
300A004F	FL	1	-	TableTopPitchAngleTolerance	Table Top Pitch Angle Tolerance
300A0050	FL	1	-	TableTopRollAngleTolerance	Table Top Roll Angle Tolerance
300A0051	DS	1	-	TableTopVerticalPositionTolerance	Table Top Vertical Position Tolerance
300A0052	DS	1	-	TableTopLongitudinalPositionTolerance	Table Top Longitudinal Position Tolerance
300A0053	DS	1	-	TableTopLateralPositionTolerance	Table Top Lateral Position Tolerance
300A0054	UI	1	-	TableTopPositionAlignmentUID	Table Top Position Alignment UID
300A0055	CS	1	-	RTPlanRelationship	RT Plan Relationship
300A0070	SQ	1	-	FractionGroupSequence	Fraction Group Sequence
300A0071	IS	1	-	FractionGroupNumber	Fraction Group Number
300A0072	LO	1	-	FractionGroupDescription	Fraction Group Description
300A0078	IS	1	-	NumberOfFractionsPlanned	Number of Fractions Planned
300A0079	IS	1	-	NumberOfFractionPatternDigitsPerDay	Number of Fraction Pattern Digits Per Day
300A007A	IS	1	-	RepeatFractionCycleLength	Repeat Fraction Cycle Length
300A007B	LT	1	-	FractionPattern	Fraction Pattern
300A0080	IS	1	-	NumberOfBeams	Number of Beams
300A0082	DS	3	R	BeamDoseSpecificationPoint	Beam Dose Specification Point
300A0083	UI	1	-	ReferencedDoseReferenceUID	Referenced Dose Reference UID
300A0084	DS	1	-	BeamDose	Beam Dose
300A0086	DS	1	-	BeamMeterset	Beam Meterset
300A0088	FL	1	-	BeamDosePointDepth	Beam Dose Point Depth
300A0089	FL	1	-	BeamDosePointEquivalentDepth	Beam Dose Point Equivalent Depth
300A008A	FL	1	-	BeamDosePointSSD	Beam Dose Point SSD
300A008B	CS	1	-	BeamDoseMeaning	Beam Dose Meaning
300A008C	SQ	1	-	BeamDoseVerificationControlPointSequence	Beam Dose Verification Control Point Sequence
300A008D	FL	1	R	AverageBeamDosePointDepth	Average Beam Dose Point Depth
300A008E	FL	1	R	AverageBeamDosePointEquivalentDepth	Average Beam Dose Point Equivalent Depth
300A008F	FL	1	R	AverageBeamDosePointSSD	Average Beam Dose Point SSD
300A0090	CS	1	-	BeamDoseType	Beam Dose Type
300A0091	DS	1	-	AlternateBeamDose	Alternate Beam Dose
300A0092	CS	1	-	AlternateBeamDoseType	Alternate Beam Dose Type
300A0093	CS	1	-	DepthValueAveragingFlag	Depth Value Averaging Flag
300A0094	DS	1	-	BeamDosePointSourceToExternalContourDistance	Beam Dose Point Source to External Contour Distance
300A00A0	IS	1	-	NumberOfBrachyApplicationSetups	Number of Brachy Application Setups
300A00A2	DS	3	-	BrachyApplicationSetupDoseSpecificationPoint	Brachy Application Setup Dose Specification Point
300A00A4	DS	1	-	BrachyApplicationSetupDose	Brachy Application Setup Dose
300A00B0	SQ	1	-	BeamSequence	Beam Sequence
300A00B2	SH	1	-	TreatmentMachineName	Treatment Machine Name
300A00B3	CS	1	-	PrimaryDosimeterUnit	Primary Dosimeter Unit
300A00B4	DS	1	-	SourceAxisDistance	Source-Axis Distance
300A00B6	SQ	1	-	BeamLimitingDeviceSequence	Beam Limiting Device Sequence
300A00B8	CS	1	-	RTBeamLimitingDeviceType	RT Beam Limiting Device Type
300A00BA	DS	1	-	SourceToBeamLimitingDeviceDistance	Source to Beam Limiting Device Distance
300A00BB	FL	1	-	IsocenterToBeamLimitingDeviceDistance	Isocenter to Beam Limiting Device Distance
300A00BC	IS	1	-	NumberOfLeafJawPairs	Number of Leaf/Jaw Pairs
300A00BE	DS	3-n	-	LeafPositionBoundaries	Leaf Position Boundaries
300A00C0	IS	1	-	BeamNumber	Beam Number
300A00C2	LO	1	-	BeamName	Beam Name
300A00C3	ST	1	-	BeamDescription	Beam Description
300A00C4	CS	1	-	BeamType	Beam Type
300A00C5	FD	1	-	BeamDeliveryDurationLimit	Beam Delivery Duration Limit
300A00C6	CS	1	-	RadiationType	Radiation Type
300A00C7	CS	1	-	HighDoseTechniqueType	High-Dose Technique Type
300A00C8	IS	1	-	ReferenceImageNumber	Reference Image Number
300A00CA	SQ	1	-	PlannedVerificationImageSequence	Planned Verification Image Sequence
300A00CC	LO	1-n	-	ImagingDeviceSpecificAcquisitionParameters	Imaging Device-Specific Acquisition Parameters
300A00CE	CS	1	-	TreatmentDeliveryType	Treatment Delivery Type
300A00D0	IS	1	-	NumberOfWedges	Number of Wedges
300A00D1	SQ	1	-	WedgeSequence	Wedge Sequence
300A00D2	IS	1	-	WedgeNumber	Wedge Number
300A00D3	CS	1	-	WedgeType	Wedge Type
300A00D4	SH	1	-	WedgeID	Wedge ID
300A00D5	IS	1	-	WedgeAngle	Wedge Angle
300A00D6	DS	1	-	WedgeFactor	Wedge Factor
300A00D7	FL	1	-	TotalWedgeTrayWaterEquivalentThickness	Total Wedge Tray Water-Equivalent Thickness
300A00D8	DS	1	-	WedgeOrientation	Wedge Orientation
300A00D9	FL	1	-	IsocenterToWedgeTrayDistance	Isocenter to Wedge Tray Distance
300A00DA	DS	1	-	SourceToWedgeTrayDistance	Source to Wedge Tray Distance
300A00DB	FL	1	-	WedgeThinEdgePosition	Wedge Thin Edge Position
300A00DC	SH	1	-	BolusID	Bolus ID
300A00DD	ST	1	-	BolusDescription	Bolus Description
300A00DE	DS	1	-	EffectiveWedgeAngle	Effective Wedge Angle
300A00E0	IS	1	-	NumberOfCompensators	Number of Compensators
300A00E1	SH	1	-	MaterialID	Material ID
300A00E2	DS	1	-	TotalCompensatorTrayFactor	Total Compensator Tray Factor
300A00E3	SQ	1	-	CompensatorSequence	Compensator Sequence
300A00E4	IS	1	-	CompensatorNumber	Compensator Number
300A00E5	SH	1	-	CompensatorID	Compensator ID
300A00E6	DS	1	-	SourceToCompensatorTrayDistance	Source to Compensator Tray Distance
300A00E7	IS	1	-	CompensatorRows	Compensator Rows
300A00E8	IS	1	-	CompensatorColumns	Compensator Columns
300A00E9	DS	2	-	CompensatorPixelSpacing	Compensator Pixel Spacing
300A00EA	DS	2	-	CompensatorPosition	Compensator Position
300A00EB	DS	1-n	-	CompensatorTransmissionData	Compensator Transmission Data
300A00EC	DS	1-n	-	CompensatorThicknessData	Compensator Thickness Data
300A00ED	IS	1	-	NumberOfBoli	Number of Boli
300A00EE	CS	1	-	CompensatorType	Compensator Type
300A00EF	SH	1	-	CompensatorTrayID	Compensator Tray ID
300A00F0	IS	1	-	NumberOfBlocks	Number of Blocks
300A00F2	DS	1	-	TotalBlockTrayFactor	Total Block Tray Factor
300A00F3	FL	1	-	TotalBlockTrayWaterEquivalentThickness	Total Block Tray Water-Equivalent Thickness
300A00F4	SQ	1	-	BlockSequence	Block Sequence
300A00F5	SH	1	-	BlockTrayID	Block Tray ID
300A00F6	DS	1	-	SourceToBlockTrayDistance	Source to Block Tray Distance
300A00F7	FL	1	-	IsocenterToBlockTrayDistance	Isocenter to Block Tray Distance
300A00F8	CS	1	-	BlockType	Block Type
300A00F9	LO	1	-	AccessoryCode	Accessory Code
300A00FA	CS	1	-	BlockDivergence	Block Divergence
300A00FB	CS	1	-	BlockMountingPosition	Block Mounting Position
300A00FC	IS	1	-	BlockNumber	Block Number
300A00FE	LO	1	-	BlockName	Block Name
300A0100	DS	1	-	BlockThickness	Block Thickness
300A0102	DS	1	-	BlockTransmission	Block Transmission
300A0104	IS	1	-	BlockNumberOfPoints	Block Number of Points
300A0106	DS	2-2n	-	BlockData	Block Data
300A0107	SQ	1	-	ApplicatorSequence	Applicator Sequence
300A0108	SH	1	-	ApplicatorID	Applicator ID
300A0109	CS	1	-	ApplicatorType	Applicator Type
300A010A	LO	1	-	ApplicatorDescription	Applicator Description
300A010C	DS	1	-	CumulativeDoseReferenceCoefficient	Cumulative Dose Reference Coefficient
300A010E	DS	1	-	FinalCumulativeMetersetWeight	Final Cumulative Meterset Weight
300A0110	IS	1	-	NumberOfControlPoints	Number of Control Points
300A0111	SQ	1	-	ControlPointSequence	Control Point Sequence
300A0112	IS	1	-	ControlPointIndex	Control Point Index
300A0114	DS	1	-	NominalBeamEnergy	Nominal Beam Energy
300A0115	DS	1	-	DoseRateSet	Dose Rate Set
300A0116	SQ	1	-	WedgePositionSequence	Wedge Position Sequence
300A0118	CS	1	-	WedgePosition	Wedge Position
300A011A	SQ	1	-	BeamLimitingDevicePositionSequence	Beam Limiting Device Position Sequence
300A011C	DS	2-2n	-	LeafJawPositions	Leaf/Jaw Positions
300A011E	DS	1	-	GantryAngle	Gantry Angle
300A011F	CS	1	-	GantryRotationDirection	Gantry Rotation Direction
300A0120	DS	1	-	BeamLimitingDeviceAngle	Beam Limiting Device Angle
300A0121	CS	1	-	BeamLimitingDeviceRotationDirection	Beam Limiting Device Rotation Direction
300A0122	DS	1	-	PatientSupportAngle	Patient Support Angle
300A0123	CS	1	-	PatientSupportRotationDirection	Patient Support Rotation Direction
300A0124	DS	1	-	TableTopEccentricAxisDistance	Table Top Eccentric Axis Distance
300A0125	DS	1	-	TableTopEccentricAngle	Table Top Eccentric Angle
300A0126	CS	1	-	TableTopEccentricRotationDirection	Table Top Eccentric Rotation Direction
300A0128	DS	1	-	TableTopVerticalPosition	Table Top Vertical Position
300A0129	DS	1	-	TableTopLongitudinalPosition	Table Top Longitudinal Position
300A012A	DS	1	-	TableTopLateralPosition	Table Top Lateral Position
300A012C	DS	3	-	IsocenterPosition	Isocenter Position
300A012E	DS	3	-	SurfaceEntryPoint	Surface Entry Point
300A0130	DS	1	-	SourceToSurfaceDistance	Source to Surface Distance
300A0131	FL	1	-	AverageBeamDosePointSourceToExternalContourDistance	Average Beam Dose Point Source to External Contour Distance
300A0132	FL	1	-	SourceToExternalContourDistance	Source to External Contour Distance
300A0133	FL	3	-	ExternalContourEntryPoint	External Contour Entry Point
300A0134	DS	1	-	CumulativeMetersetWeight	Cumulative Meterset Weight
300A0140	FL	1	-	TableTopPitchAngle	Table Top Pitch Angle
300A0142	CS	1	-	TableTopPitchRotationDirection	Table Top Pitch Rotation Direction
300A0144	FL	1	-	TableTopRollAngle	Table Top Roll Angle
300A0146	CS	1	-	TableTopRollRotationDirection	Table Top Roll Rotation Direction
300A0148	FL	1	-	HeadFixationAngle	Head Fixation Angle
300A014A	FL	1	-	GantryPitchAngle	Gantry Pitch Angle
300A014C	CS	1	-	GantryPitchRotationDirection	Gantry Pitch Rotation Direction
300A014E	FL	1	-	GantryPitchAngleTolerance	Gantry Pitch Angle Tolerance
300A0150	CS	1	-	FixationEye	Fixation Eye
300A0151	DS	1	-	ChairHeadFramePosition	Chair Head Frame Position
300A0152	DS	1	-	HeadFixationAngleTolerance	Head Fixation Angle Tolerance
300A0153	DS	1	-	ChairHeadFramePositionTolerance	Chair Head Frame Position Tolerance
300A0154	DS	1	-	FixationLightAzimuthalAngleTolerance	Fixation Light Azimuthal Angle Tolerance
300A0155	DS	1	-	FixationLightPolarAngleTolerance	Fixation Light Polar Angle Tolerance
300A0180	SQ	1	-	PatientSetupSequence	Patient Setup Sequence
300A0182	IS	1	-	PatientSetupNumber	Patient Setup Number
300A0183	LO	1	-	PatientSetupLabel	Patient Setup Label
300A0184	LO	1	-	PatientAdditionalPosition	Patient Additional Position
300A0190	SQ	1	-	FixationDeviceSequence	Fixation Device Sequence
300A0192	CS	1	-	FixationDeviceType	Fixation Device Type
300A0194	SH	1	-	FixationDeviceLabel	Fixation Device Label
300A0196	ST	1	-	FixationDeviceDescription	Fixation Device Description
300A0198	SH	1	-	FixationDevicePosition	Fixation Device Position
300A0199	FL	1	-	FixationDevicePitchAngle	Fixation Device Pitch Angle
300A019A	FL	1	-	FixationDeviceRollAngle	Fixation Device Roll Angle
300A01A0	SQ	1	-	ShieldingDeviceSequence	Shielding Device Sequence
300A01A2	CS	1	-	ShieldingDeviceType	Shielding Device Type
300A01A4	SH	1	-	ShieldingDeviceLabel	Shielding Device Label
300A01A6	ST	1	-	ShieldingDeviceDescription	Shielding Device Description
300A01A8	SH	1	-	ShieldingDevicePosition	Shielding Device Position
300A01B0	CS	1	-	SetupTechnique	Setup Technique
300A01B2	ST	1	-	SetupTechniqueDescription	Setup Technique Description
300A01B4	SQ	1	-	SetupDeviceSequence	Setup Device Sequence
300A01B6	CS	1	-	SetupDeviceType	Setup Device Type
300A01B8	SH	1	-	SetupDeviceLabel	Setup Device Label
300A01BA	ST	1	-	SetupDeviceDescription	Setup Device Description
300A01BC	DS	1	-	SetupDeviceParameter	Setup Device Parameter
300A01D0	ST	1	-	SetupReferenceDescription	Setup Reference Description
300A01D2	DS	1	-	TableTopVerticalSetupDisplacement	Table Top Vertical Setup Displacement
300A01D4	DS	1	-	TableTopLongitudinalSetupDisplacement	Table Top Longitudinal Setup Displacement
300A01D6	DS	1	-	TableTopLateralSetupDisplacement	Table Top Lateral Setup Displacement
300A0200	CS	1	-	BrachyTreatmentTechnique	Brachy Treatment Technique
300A0202	CS	1	-	BrachyTreatmentType	Brachy Treatment Type
300A0206	SQ	1	-	TreatmentMachineSequence	Treatment Machine Sequence
300A0210	SQ	1	-	SourceSequence	Source Sequence
300A0212	IS	1	-	SourceNumber	Source Number
300A0214	CS	1	-	SourceType	Source Type
300A0216	LO	1	-	SourceManufacturer	Source Manufacturer
300A0218	DS	1	-	ActiveSourceDiameter	Active Source Diameter
300A021A	DS	1	-	ActiveSourceLength	Active Source Length
300A021B	SH	1	-	SourceModelID	Source Model ID
300A021C	LO	1	-	SourceDescription	Source Description
300A0222	DS	1	-	SourceEncapsulationNominalThickness	Source Encapsulation Nominal Thickness
300A0224	DS	1	-	SourceEncapsulationNominalTransmission	Source Encapsulation Nominal Transmission
300A0226	LO	1	-	SourceIsotopeName	Source Isotope Name
300A0228	DS	1	-	SourceIsotopeHalfLife	Source Isotope Half Life
300A0229	CS	1	-	SourceStrengthUnits	Source Strength Units
300A022A	DS	1	-	ReferenceAirKermaRate	Reference Air Kerma Rate
300A022B	DS	1	-	SourceStrength	Source Strength
300A022C	DA	1	-	SourceStrengthReferenceDate	Source Strength Reference Date
300A022E	TM	1	-	SourceStrengthReferenceTime	Source Strength Reference Time
300A0230	SQ	1	-	ApplicationSetupSequence	Application Setup Sequence
300A0232	CS	1	-	ApplicationSetupType	Application Setup Type
300A0234	IS	1	-	ApplicationSetupNumber	Application Setup Number
300A0236	LO	1	-	ApplicationSetupName	Application Setup Name
300A0238	LO	1	-	ApplicationSetupManufacturer	Application Setup Manufacturer
300A0240	IS	1	-	TemplateNumber	Template Number
300A0242	SH	1	-	TemplateType	Template Type
300A0244	LO	1	-	TemplateName	Template Name
300A0250	DS	1	-	TotalReferenceAirKerma	Total Reference Air Kerma
300A0260	SQ	1	-	BrachyAccessoryDeviceSequence	Brachy Accessory Device Sequence
300A0262	IS	1	-	BrachyAccessoryDeviceNumber	Brachy Accessory Device Number
300A0263	SH	1	-	BrachyAccessoryDeviceID	Brachy Accessory Device ID
300A0264	CS	1	-	BrachyAccessoryDeviceType	Brachy Accessory Device Type
300A0266	LO	1	-	BrachyAccessoryDeviceName	Brachy Accessory Device Name
300A026A	DS	1	-	BrachyAccessoryDeviceNominalThickness	Brachy Accessory Device Nominal Thickness
300A026C	DS	1	-	BrachyAccessoryDeviceNominalTransmission	Brachy Accessory Device Nominal Transmission
300A0271	DS	1	-	ChannelEffectiveLength	Channel Effective Length
300A0272	DS	1	-	ChannelInnerLength	Channel Inner Length
300A0273	SH	1	-	AfterloaderChannelID	Afterloader Channel ID
300A0274	DS	1	-	SourceApplicatorTipLength	Source Applicator Tip Length
300A0280	SQ	1	-	ChannelSequence	Channel Sequence
300A0282	IS	1	-	ChannelNumber	Channel Number
300A0284	DS	1	-	ChannelLength	Channel Length
300A0286	DS	1	-	ChannelTotalTime	Channel Total Time
300A0288	CS	1	-	SourceMovementType	Source Movement Type
300A028A	IS	1	-	NumberOfPulses	Number of Pulses
300A028C	DS	1	-	PulseRepetitionInterval	Pulse Repetition Interval
300A0290	IS	1	-	SourceApplicatorNumber	Source Applicator Number
300A0291	SH	1	-	SourceApplicatorID	Source Applicator ID
300A0292	CS	1	-	SourceApplicatorType	Source Applicator Type
300A0294	LO	1	-	SourceApplicatorName	Source Applicator Name
300A0296	DS	1	-	SourceApplicatorLength	Source Applicator Length
300A0298	LO	1	-	SourceApplicatorManufacturer	Source Applicator Manufacturer
300A029C	DS	1	-	SourceApplicatorWallNominalThickness	Source Applicator Wall Nominal Thickness
300A029E	DS	1	-	SourceApplicatorWallNominalTransmission	Source Applicator Wall Nominal Transmission
300A02A0	DS	1	-	SourceApplicatorStepSize	Source Applicator Step Size
300A02A1	IS	1	-	ApplicatorShapeReferencedROINumber	Applicator Shape Referenced ROI Number
300A02A2	IS	1	-	TransferTubeNumber	Transfer Tube Number
300A02A4	DS	1	-	TransferTubeLength	Transfer Tube Length
300A02B0	SQ	1	-	ChannelShieldSequence	Channel Shield Sequence
300A02B2	IS	1	-	ChannelShieldNumber	Channel Shield Number
300A02B3	SH	1	-	ChannelShieldID	Channel Shield ID
300A02B4	LO	1	-	ChannelShieldName	Channel Shield Name
300A02B8	DS	1	-	ChannelShieldNominalThickness	Channel Shield Nominal Thickness
300A02BA	DS	1	-	ChannelShieldNominalTransmission	Channel Shield Nominal Transmission
300A02C8	DS	1	-	FinalCumulativeTimeWeight	Final Cumulative Time Weight
300A02D0	SQ	1	-	BrachyControlPointSequence	Brachy Control Point Sequence
300A02D2	DS	1	-	ControlPointRelativePosition	Control Point Relative Position
300A02D4	DS	3	-	ControlPoint3DPosition	Control Point 3D Position
300A02D6	DS	1	-	CumulativeTimeWeight	Cumulative Time Weight
300A02E0	CS	1	-	CompensatorDivergence	Compensator Divergence
300A02E1	CS	1	-	CompensatorMountingPosition	Compensator Mounting Position
300A02E2	DS	1-n	-	SourceToCompensatorDistance	Source to Compensator Distance
300A02E3	FL	1	-	TotalCompensatorTrayWaterEquivalentThickness	Total Compensator Tray Water-Equivalent Thickness
300A02E4	FL	1	-	IsocenterToCompensatorTrayDistance	Isocenter to Compensator Tray Distance
300A02E5	FL	1	-	CompensatorColumnOffset	Compensator Column Offset
300A02E6	FL	1-n	-	IsocenterToCompensatorDistances	Isocenter to Compensator Distances
300A02E7	FL	1	-	CompensatorRelativeStoppingPowerRatio	Compensator Relative Stopping Power Ratio
300A02E8	FL	1	-	CompensatorMillingToolDiameter	Compensator Milling Tool Diameter
300A02EA	SQ	1	-	IonRangeCompensatorSequence	Ion Range Compensator Sequence
300A02EB	LT	1	-	CompensatorDescription	Compensator Description
300A0302	IS	1	-	RadiationMassNumber	Radiation Mass Number
300A0304	IS	1	-	RadiationAtomicNumber	Radiation Atomic Number
300A0306	SS	1	-	RadiationChargeState	Radiation Charge State
300A0308	CS	1	-	ScanMode	Scan Mode
300A0309	CS	1	-	ModulatedScanModeType	Modulated Scan Mode Type
300A030A	FL	2	-	VirtualSourceAxisDistances	Virtual Source-Axis Distances
300A030C	SQ	1	-	SnoutSequence	Snout Sequence
300A030D	FL	1	-	SnoutPosition	Snout Position
300A030F	SH	1	-	SnoutID	Snout ID
300A0312	IS	1	-	NumberOfRangeShifters	Number of Range Shifters
300A0314	SQ	1	-	RangeShifterSequence	Range Shifter Sequence
300A0316	IS	1	-	RangeShifterNumber	Range Shifter Number
300A0318	SH	1	-	RangeShifterID	Range Shifter ID
300A0320	CS	1	-	RangeShifterType	Range Shifter Type
300A0322	LO	1	-	RangeShifterDescription	Range Shifter Description
300A0330	IS	1	-	NumberOfLateralSpreadingDevices	Number of Lateral Spreading Devices
300A0332	SQ	1	-	LateralSpreadingDeviceSequence	Lateral Spreading Device Sequence
300A0334	IS	1	-	LateralSpreadingDeviceNumber	Lateral Spreading Device Number
300A0336	SH	1	-	LateralSpreadingDeviceID	Lateral Spreading Device ID
300A0338	CS	1	-	LateralSpreadingDeviceType	Lateral Spreading Device Type
300A033A	LO	1	-	LateralSpreadingDeviceDescription	Lateral Spreading Device Description
300A033C	FL	1	-	LateralSpreadingDeviceWaterEquivalentThickness	Lateral Spreading Device Water Equivalent Thickness
300A0340	IS	1	-	NumberOfRangeModulators	Number of Range Modulators
300A0342	SQ	1	-	RangeModulatorSequence	Range Modulator Sequence
300A0344	IS	1	-	RangeModulatorNumber	Range Modulator Number
300A0346	SH	1	-	RangeModulatorID	Range Modulator ID
300A0348	CS	1	-	RangeModulatorType	Range Modulator Type
300A034A	LO	1	-	RangeModulatorDescription	Range Modulator Description
300A034C	SH	1	-	BeamCurrentModulationID	Beam Current Modulation ID
300A0350	CS	1	-	PatientSupportType	Patient Support Type
300A0352	SH	1	-	PatientSupportID	Patient Support ID
300A0354	LO	1	-	PatientSupportAccessoryCode	Patient Support Accessory Code
300A0355	LO	1	-	TrayAccessoryCode	Tray Accessory Code
300A0356	FL	1	-	FixationLightAzimuthalAngle	Fixation Light Azimuthal Angle
300A0358	FL	1	-	FixationLightPolarAngle	Fixation Light Polar Angle
300A035A	FL	1	-	MetersetRate	Meterset Rate
300A0360	SQ	1	-	RangeShifterSettingsSequence	Range Shifter Settings Sequence
300A0362	LO	1	-	RangeShifterSetting	Range Shifter Setting
300A0364	FL	1	-	IsocenterToRangeShifterDistance	Isocenter to Range Shifter Distance
300A0366	FL	1	-	RangeShifterWaterEquivalentThickness	Range Shifter Water Equivalent Thickness
300A0370	SQ	1	-	LateralSpreadingDeviceSettingsSequence	Lateral Spreading Device Settings Sequence
300A0372	LO	1	-	LateralSpreadingDeviceSetting	Lateral Spreading Device Setting
300A0374	FL	1	-	IsocenterToLateralSpreadingDeviceDistance	Isocenter to Lateral Spreading Device Distance
300A0380	SQ	1	-	RangeModulatorSettingsSequence	Range Modulator Settings Sequence
300A0382	FL	1	-	RangeModulatorGatingStartValue	Range Modulator Gating Start Value
300A0384	FL	1	-	RangeModulatorGatingStopValue	Range Modulator Gating Stop Value
300A0386	FL	1	-	RangeModulatorGatingStartWaterEquivalentThickness	Range Modulator Gating Start Water Equivalent Thickness
300A0388	FL	1	-	RangeModulatorGatingStopWaterEquivalentThickness	Range Modulator Gating Stop Water Equivalent Thickness
300A038A	FL	1	-	IsocenterToRangeModulatorDistance	Isocenter to Range Modulator Distance
300A038F	FL	1-n	-	ScanSpotTimeOffset	Scan Spot Time Offset
300A0390	SH	1	-	ScanSpotTuneID	Scan Spot Tune ID
300A0391	IS	1-n	-	ScanSpotPrescribedIndices	Scan Spot Prescribed Indices
300A0392	IS	1	-	NumberOfScanSpotPositions	Number of Scan Spot Positions
300A0393	CS	1	-	ScanSpotReordered	Scan Spot Reordered
300A0394	FL	1-n	-	ScanSpotPositionMap	Scan Spot Position Map
300A0395	CS	1	-	ScanSpotReorderingAllowed	Scan Spot Reordering Allowed
300A0396	FL	1-n	-	ScanSpotMetersetWeights	Scan Spot Meterset Weights
300A0398	FL	2	-	ScanningSpotSize	Scanning Spot Size
300A0399	FL	2-2n	-	ScanSpotSizesDelivered	Scan Spot Sizes Delivered
300A039A	IS	1	-	NumberOfPaintings	Number of Paintings
300A03A0	SQ	1	-	IonToleranceTableSequence	Ion Tolerance Table Sequence
300A03A2	SQ	1	-	IonBeamSequence	Ion Beam Sequence
300A03A4	SQ	1	-	IonBeamLimitingDeviceSequence	Ion Beam Limiting Device Sequence
300A03A6	SQ	1	-	IonBlockSequence	Ion Block Sequence
300A03A8	SQ	1	-	IonControlPointSequence	Ion Control Point Sequence
300A03AA	SQ	1	-	IonWedgeSequence	Ion Wedge Sequence
300A03AC	SQ	1	-	IonWedgePositionSequence	Ion Wedge Position Sequence
300A0401	SQ	1	-	ReferencedSetupImageSequence	Referenced Setup Image Sequence
300A0402	ST	1	-	SetupImageComment	Setup Image Comment
300A0410	SQ	1	-	MotionSynchronizationSequence	Motion Synchronization Sequence
300A0412	FL	3	-	ControlPointOrientation	Control Point Orientation
300A0420	SQ	1	-	GeneralAccessorySequence	General Accessory Sequence
300A0421	SH	1	-	GeneralAccessoryID	General Accessory ID
300A0422	ST	1	-	GeneralAccessoryDescription	General Accessory Description
300A0423	CS	1	-	GeneralAccessoryType	General Accessory Type
300A0424	IS	1	-	GeneralAccessoryNumber	General Accessory Number
300A0425	FL	1	-	SourceToGeneralAccessoryDistance	Source to General Accessory Distance
300A0426	DS	1	-	IsocenterToGeneralAccessoryDistance	Isocenter to General Accessory Distance
300A0431	SQ	1	-	ApplicatorGeometrySequence	Applicator Geometry Sequence
300A0432	CS	1	-	ApplicatorApertureShape	Applicator Aperture Shape
300A0433	FL	1	-	ApplicatorOpening	Applicator Opening
300A0434	FL	1	-	ApplicatorOpeningX	Applicator Opening X
300A0435	FL	1	-	ApplicatorOpeningY	Applicator Opening Y
300A0436	FL	1	-	SourceToApplicatorMountingPositionDistance	Source to Applicator Mounting Position Distance
300A0440	IS	1	-	NumberOfBlockSlabItems	Number of Block Slab Items
300A0441	SQ	1	-	BlockSlabSequence	Block Slab Sequence
300A0442	DS	1	-	BlockSlabThickness	Block Slab Thickness
300A0443	US	1	-	BlockSlabNumber	Block Slab Number
300A0450	SQ	1	-	DeviceMotionControlSequence	Device Motion Control Sequence
300A0451	CS	1	-	DeviceMotionExecutionMode	Device Motion Execution Mode
300A0452	CS	1	-	DeviceMotionObservationMode	Device Motion Observation Mode
300A0453	SQ	1	-	DeviceMotionParameterCodeSequence	Device Motion Parameter Code Sequence
300A0501	FL	1	-	DistalDepthFraction	Distal Depth Fraction
300A0502	FL	1	-	DistalDepth	Distal Depth
300A0503	FL	2	-	NominalRangeModulationFractions	Nominal Range Modulation Fractions
300A0504	FL	2	-	NominalRangeModulatedRegionDepths	Nominal Range Modulated Region Depths
300A0505	SQ	1	-	DepthDoseParametersSequence	Depth Dose Parameters Sequence
300A0506	SQ	1	-	DeliveredDepthDoseParametersSequence	Delivered Depth Dose Parameters Sequence
300A0507	FL	1	-	DeliveredDistalDepthFraction	Delivered Distal Depth Fraction
300A0508	FL	1	-	DeliveredDistalDepth	Delivered Distal Depth
300A0509	FL	2	-	DeliveredNominalRangeModulationFractions	Delivered Nominal Range Modulation Fractions
300A0510	FL	2	-	DeliveredNominalRangeModulatedRegionDepths	Delivered Nominal Range Modulated Region Depths
300A0511	CS	1	-	DeliveredReferenceDoseDefinition	Delivered Reference Dose Definition
300A0512	CS	1	-	ReferenceDoseDefinition	Reference Dose Definition
300A0600	US	1	-	RTControlPointIndex	RT Control Point Index
300A0601	US	1	-	RadiationGenerationModeIndex	Radiation Generation Mode Index
300A0602	US	1	-	ReferencedDefinedDeviceIndex	Referenced Defined Device Index
300A0603	US	1	-	RadiationDoseIdentificationIndex	Radiation Dose Identification Index
300A0604	US	1	-	NumberOfRTControlPoints	Number of RT Control Points
300A0605	US	1	-	ReferencedRadiationGenerationModeIndex	Referenced Radiation Generation Mode Index
300A0606	US	1	-	TreatmentPositionIndex	Treatment Position Index
300A0607	US	1	-	ReferencedDeviceIndex	Referenced Device Index
300A0608	LO	1	-	TreatmentPositionGroupLabel	Treatment Position Group Label
300A0609	UI	1	-	TreatmentPositionGroupUID	Treatment Position Group UID
300A060A	SQ	1	-	TreatmentPositionGroupSequence	Treatment Position Group Sequence
300A060B	US	1	-	ReferencedTreatmentPositionIndex	Referenced Treatment Position Index
300A060C	US	1	-	ReferencedRadiationDoseIdentificationIndex	Referenced Radiation Dose Identification Index
300A060D	FD	1	-	RTAccessoryHolderWaterEquivalentThickness	RT Accessory Holder Water-Equivalent Thickness
300A060E	US	1	-	ReferencedRTAccessoryHolderDeviceIndex	Referenced RT Accessory Holder Device Index
300A060F	CS	1	-	RTAccessoryHolderSlotExistenceFlag	RT Accessory Holder Slot Existence Flag
300A0610	SQ	1	-	RTAccessoryHolderSlotSequence	RT Accessory Holder Slot Sequence
300A0611	LO	1	-	RTAccessoryHolderSlotID	RT Accessory Holder Slot ID
300A0612	FD	1	-	RTAccessoryHolderSlotDistance	RT Accessory Holder Slot Distance
300A0613	FD	1	-	RTAccessorySlotDistance	RT Accessory Slot Distance
300A0614	SQ	1	-	RTAccessoryHolderDefinitionSequence	RT Accessory Holder Definition Sequence
300A0615	LO	1	-	RTAccessoryDeviceSlotID	RT Accessory Device Slot ID
300A0616	SQ	1	-	RTRadiationSequence	RT Radiation Sequence
300A0617	SQ	1	-	RadiationDoseSequence	Radiation Dose Sequence
300A0618	SQ	1	-	RadiationDoseIdentificationSequence	Radiation Dose Identification Sequence
300A0619	LO	1	-	RadiationDoseIdentificationLabel	Radiation Dose Identification Label
300A061A	CS	1	-	ReferenceDoseType	Reference Dose Type
300A061B	CS	1	-	PrimaryDoseValueIndicator	Primary Dose Value Indicator
300A061C	SQ	1	-	DoseValuesSequence	Dose Values Sequence
300A061D	CS	1-n	-	DoseValuePurpose	Dose Value Purpose
300A061E	FD	3	-	ReferenceDosePointCoordinates	Reference Dose Point Coordinates
300A061F	SQ	1	-	RadiationDoseValuesParametersSequence	Radiation Dose Values Parameters Sequence
300A0620	SQ	1	-	MetersetToDoseMappingSequence	Meterset to Dose Mapping Sequence
300A0621	SQ	1	-	ExpectedInVivoMeasurementValuesSequence	Expected In-Vivo Measurement Values Sequence
300A0622	US	1	-	ExpectedInVivoMeasurementValueIndex	Expected In-Vivo Measurement Value Index
300A0623	LO	1	-	RadiationDoseInVivoMeasurementLabel	Radiation Dose In-Vivo Measurement Label
300A0624	FD	2	-	RadiationDoseCentralAxisDisplacement	Radiation Dose Central Axis Displacement
300A0625	FD	1	-	RadiationDoseValue	Radiation Dose Value
300A0626	FD	1	-	RadiationDoseSourceToSkinDistance	Radiation Dose Source to Skin Distance
300A0627	FD	3	-	RadiationDoseMeasurementPointCoordinates	Radiation Dose Measurement Point Coordinates
300A0628	FD	1	-	RadiationDoseSourceToExternalContourDistance	Radiation Dose Source to External Contour Distance
300A0629	SQ	1	-	RTToleranceSetSequence	RT Tolerance Set Sequence
300A062A	LO	1	-	RTToleranceSetLabel	RT Tolerance Set Label
300A062B	SQ	1	-	AttributeToleranceValuesSequence	Attribute Tolerance Values Sequence
300A062C	FD	1	-	ToleranceValue	Tolerance Value
300A062D	SQ	1	-	PatientSupportPositionToleranceSequence	Patient Support Position Tolerance Sequence
300A062E	FD	1	-	TreatmentTimeLimit	Treatment Time Limit
300A062F	SQ	1	-	CArmPhotonElectronControlPointSequence	C-Arm Photon-Electron Control Point Sequence
300A0630	SQ	1	-	ReferencedRTRadiationSequence	Referenced RT Radiation Sequence
300A0631	SQ	1	-	ReferencedRTInstanceSequence	Referenced RT Instance Sequence
300A0632	SQ	1	R	ReferencedRTPatientSetupSequence	Referenced RT Patient Setup Sequence
300A0634	FD	1	-	SourceToPatientSurfaceDistance	Source to Patient Surface Distance
300A0635	SQ	1	-	TreatmentMachineSpecialModeCodeSequence	Treatment Machine Special Mode Code Sequence
300A0636	US	1	-	IntendedNumberOfFractions	Intended Number of Fractions
300A0637	CS	1	-	RTRadiationSetIntent	RT Radiation Set Intent
300A0638	CS	1	-	RTRadiationPhysicalAndGeometricContentDetailFlag	RT Radiation Physical and Geometric Content Detail Flag
300A0639	CS	1	-	RTRecordFlag	RT Record Flag
300A063A	SQ	1	-	TreatmentDeviceIdentificationSequence	Treatment Device Identification Sequence
300A063B	SQ	1	-	ReferencedRTPhysicianIntentSequence	Referenced RT Physician Intent Sequence
300A063C	FD	1	-	CumulativeMeterset	Cumulative Meterset
300A063D	FD	1	-	DeliveryRate	Delivery Rate
300A063E	SQ	1	-	DeliveryRateUnitSequence	Delivery Rate Unit Sequence
300A063F	SQ	1	-	TreatmentPositionSequence	Treatment Position Sequence
300A0640	FD	1	-	RadiationSourceAxisDistance	Radiation Source-Axis Distance
300A0641	US	1	-	NumberOfRTBeamLimitingDevices	Number of RT Beam Limiting Devices
300A0642	FD	1	-	RTBeamLimitingDeviceProximalDistance	RT Beam Limiting Device Proximal Distance
300A0643	FD	1	-	RTBeamLimitingDeviceDistalDistance	RT Beam Limiting Device Distal Distance
300A0644	SQ	1	-	ParallelRTBeamDelimiterDeviceOrientationLabelCodeSequence	Parallel RT Beam Delimiter Device Orientation Label Code Sequence
300A0645	FD	1	-	BeamModifierOrientationAngle	Beam Modifier Orientation Angle
300A0646	SQ	1	-	FixedRTBeamDelimiterDeviceSequence	Fixed RT Beam Delimiter Device Sequence
300A0647	SQ	1	-	ParallelRTBeamDelimiterDeviceSequence	Parallel RT Beam Delimiter Device Sequence
300A0648	US	1	-	NumberOfParallelRTBeamDelimiters	Number of Parallel RT Beam Delimiters
300A0649	FD	2-n	-	ParallelRTBeamDelimiterBoundaries	Parallel RT Beam Delimiter Boundaries
300A064A	FD	2-n	-	ParallelRTBeamDelimiterPositions	Parallel RT Beam Delimiter Positions
300A064B	FD	2	-	RTBeamLimitingDeviceOffset	RT Beam Limiting Device Offset
300A064C	SQ	1	-	RTBeamDelimiterGeometrySequence	RT Beam Delimiter Geometry Sequence
300A064D	SQ	1	-	RTBeamLimitingDeviceDefinitionSequence	RT Beam Limiting Device Definition Sequence
300A064E	CS	1	-	ParallelRTBeamDelimiterOpeningMode	Parallel RT Beam Delimiter Opening Mode
300A064F	CS	1-n	-	ParallelRTBeamDelimiterLeafMountingSide	Parallel RT Beam Delimiter Leaf Mounting Side
300A0650	UI	1	R	PatientSetupUID	Patient Setup UID
300A0651	SQ	1	-	WedgeDefinitionSequence	Wedge Definition Sequence
300A0652	FD	1	-	RadiationBeamWedgeAngle	Radiation Beam Wedge Angle
300A0653	FD	1	-	RadiationBeamWedgeThinEdgeDistance	Radiation Beam Wedge Thin Edge Distance
300A0654	FD	1	-	RadiationBeamEffectiveWedgeAngle	Radiation Beam Effective Wedge Angle
300A0655	US	1	-	NumberOfWedgePositions	Number of Wedge Positions
300A0656	SQ	1	-	RTBeamLimitingDeviceOpeningSequence	RT Beam Limiting Device Opening Sequence
300A0657	US	1	-	NumberOfRTBeamLimitingDeviceOpenings	Number of RT Beam Limiting Device Openings
300A0658	SQ	1	-	RadiationDosimeterUnitSequence	Radiation Dosimeter Unit Sequence
300A0659	SQ	1	-	RTDeviceDistanceReferenceLocationCodeSequence	RT Device Distance Reference Location Code Sequence
300A065A	SQ	1	-	RadiationDeviceConfigurationAndCommissioningKeySequence	Radiation Device Configuration and Commissioning Key Sequence
300A065B	SQ	1	-	PatientSupportPositionParameterSequence	Patient Support Position Parameter Sequence
300A065C	CS	1	-	PatientSupportPositionSpecificationMethod	Patient Support Position Specification Method
300A065D	SQ	1	-	PatientSupportPositionDeviceParameterSequence	Patient Support Position Device Parameter Sequence
300A065E	US	1	-	DeviceOrderIndex	Device Order Index
300A065F	US	1	-	PatientSupportPositionParameterOrderIndex	Patient Support Position Parameter Order Index
300A0660	SQ	1	-	PatientSupportPositionDeviceToleranceSequence	Patient Support Position Device Tolerance Sequence
300A0661	US	1	-	PatientSupportPositionToleranceOrderIndex	Patient Support Position Tolerance Order Index
300A0662	SQ	1	-	CompensatorDefinitionSequence	Compensator Definition Sequence
300A0663	CS	1	-	CompensatorMapOrientation	Compensator Map Orientation
300A0664	OF	1	-	CompensatorProximalThicknessMap	Compensator Proximal Thickness Map
300A0665	OF	1	-	CompensatorDistalThicknessMap	Compensator Distal Thickness Map
300A0666	FD	1	-	CompensatorBasePlaneOffset	Compensator Base Plane Offset
300A0667	SQ	1	-	CompensatorShapeFabricationCodeSequence	Compensator Shape Fabrication Code Sequence
300A0668	SQ	1	-	CompensatorShapeSequence	Compensator Shape Sequence
300A0669	FD	1	-	RadiationBeamCompensatorMillingToolDiameter	Radiation Beam Compensator Milling Tool Diameter
300A066A	SQ	1	-	BlockDefinitionSequence	Block Definition Sequence
300A066B	OF	1	-	BlockEdgeData	Block Edge Data
300A066C	CS	1	-	BlockOrientation	Block Orientation
300A066D	FD	1	-	RadiationBeamBlockThickness	Radiation Beam Block Thickness
300A066E	FD	1	-	RadiationBeamBlockSlabThickness	Radiation Beam Block Slab Thickness
300A066F	SQ	1	-	BlockEdgeDataSequence	Block Edge Data Sequence
300A0670	US	1	-	NumberOfRTAccessoryHolders	Number of RT Accessory Holders
300A0671	SQ	1	-	GeneralAccessoryDefinitionSequence	General Accessory Definition Sequence
300A0672	US	1	-	NumberOfGeneralAccessories	Number of General Accessories
300A0673	SQ	1	-	BolusDefinitionSequence	Bolus Definition Sequence
300A0674	US	1	-	NumberOfBoluses	Number of Boluses
300A0675	UI	1	-	EquipmentFrameOfReferenceUID	Equipment Frame of Reference UID
300A0676	ST	1	-	EquipmentFrameOfReferenceDescription	Equipment Frame of Reference Description
300A0677	SQ	1	-	EquipmentReferencePointCoordinatesSequence	Equipment Reference Point Coordinates Sequence
300A0678	SQ	1	-	EquipmentReferencePointCodeSequence	Equipment Reference Point Code Sequence
300A0679	FD	1	-	RTBeamLimitingDeviceAngle	RT Beam Limiting Device Angle
300A067A	FD	1	-	SourceRollAngle	Source Roll Angle
300A067B	SQ	1	-	RadiationGenerationModeSequence	Radiation GenerationMode Sequence
300A067C	SH	1	-	RadiationGenerationModeLabel	Radiation GenerationMode Label
300A067D	ST	1	-	RadiationGenerationModeDescription	Radiation GenerationMode Description
300A067E	SQ	1	-	RadiationGenerationModeMachineCodeSequence	Radiation GenerationMode Machine Code Sequence
300A067F	SQ	1	-	RadiationTypeCodeSequence	Radiation Type Code Sequence
300A0680	DS	1	-	NominalEnergy	Nominal Energy
300A0681	DS	1	-	MinimumNominalEnergy	Minimum Nominal Energy
300A0682	DS	1	-	MaximumNominalEnergy	Maximum Nominal Energy
300A0683	SQ	1	-	RadiationFluenceModifierCodeSequence	Radiation Fluence Modifier Code Sequence
300A0684	SQ	1	-	EnergyUnitCodeSequence	Energy Unit Code Sequence
300A0685	US	1	-	NumberOfRadiationGenerationModes	Number of Radiation GenerationModes
300A0686	SQ	1	-	PatientSupportDevicesSequence	Patient Support Devices Sequence
300A0687	US	1	-	NumberOfPatientSupportDevices	Number of Patient Support Devices
300A0688	FD	1	-	RTBeamModifierDefinitionDistance	RT Beam Modifier Definition Distance
300A0689	SQ	1	-	BeamAreaLimitSequence	Beam Area Limit Sequence
300A068A	SQ	1	-	ReferencedRTPrescriptionSequence	Referenced RT Prescription Sequence
300A068B	CS	1	-	DoseValueInterpretation	Dose Value Interpretation
300A0700	UI	1	-	TreatmentSessionUID	Treatment Session UID
300A0701	CS	1	-	RTRadiationUsage	RT Radiation Usage
300A0702	SQ	1	-	ReferencedRTRadiationSetSequence	Referenced RT Radiation Set Sequence
300A0703	SQ	1	-	ReferencedRTRadiationRecordSequence	Referenced RT Radiation Record Sequence
300A0704	US	1	-	RTRadiationSetDeliveryNumber	RT Radiation Set Delivery Number
300A0705	US	1	-	ClinicalFractionNumber	Clinical Fraction Number
300A0706	CS	1	-	RTTreatmentFractionCompletionStatus	RT Treatment Fraction Completion Status
300A0707	CS	1	-	RTRadiationSetUsage	RT Radiation Set Usage
300A0708	CS	1	-	TreatmentDeliveryContinuationFlag	Treatment Delivery Continuation Flag
300A0709	CS	1	-	TreatmentRecordContentOrigin	Treatment Record Content Origin
300A0714	CS	1	-	RTTreatmentTerminationStatus	RT Treatment Termination Status
300A0715	SQ	1	-	RTTreatmentTerminationReasonCodeSequence	RT Treatment Termination Reason Code Sequence
300A0716	SQ	1	-	MachineSpecificTreatmentTerminationCodeSequence	Machine-Specific Treatment Termination Code Sequence
300A0722	SQ	1	-	RTRadiationSalvageRecordControlPointSequence	RT Radiation Salvage Record Control Point Sequence
300A0723	CS	1	-	StartingMetersetValueKnownFlag	Starting Meterset Value Known Flag
300A0730	ST	1	-	TreatmentTerminationDescription	Treatment Termination Description
300A0731	SQ	1	-	TreatmentToleranceViolationSequence	Treatment Tolerance Violation Sequence
300A0732	CS	1	-	TreatmentToleranceViolationCategory	Treatment Tolerance Violation Category
300A0733	SQ	1	-	TreatmentToleranceViolationAttributeSequence	Treatment Tolerance Violation Attribute Sequence
300A0734	ST	1	-	TreatmentToleranceViolationDescription	Treatment Tolerance Violation Description
300A0735	ST	1	-	TreatmentToleranceViolationIdentification	Treatment Tolerance Violation Identification
300A0736	DT	1	-	TreatmentToleranceViolationDateTime	Treatment Tolerance Violation DateTime
300A073A	DT	1	-	RecordedRTControlPointDateTime	Recorded RT Control Point DateTime
300A073B	US	1	-	ReferencedRadiationRTControlPointIndex	Referenced Radiation RT Control Point Index
300A073E	SQ	1	-	AlternateValueSequence	Alternate Value Sequence
300A073F	SQ	1	-	ConfirmationSequence	Confirmation Sequence
300A0740	SQ	1	-	InterlockSequence	Interlock Sequence
300A0741	DT	1	-	InterlockDateTime	Interlock DateTime
300A0742	ST	1	-	InterlockDescription	Interlock Description
300A0743	SQ	1	-	InterlockOriginatingDeviceSequence	Interlock Originating Device Sequence
300A0744	SQ	1	-	InterlockCodeSequence	Interlock Code Sequence
300A0745	SQ	1	-	InterlockResolutionCodeSequence	Interlock Resolution Code Sequence
300A0746	SQ	1	-	InterlockResolutionUserSequence	Interlock Resolution User Sequence
300A0760	DT	1	-	OverrideDateTime	Override DateTime
300A0761	SQ	1	-	TreatmentToleranceViolationTypeCodeSequence	Treatment Tolerance Violation Type Code Sequence
300A0762	SQ	1	-	TreatmentToleranceViolationCauseCodeSequence	Treatment Tolerance Violation Cause Code Sequence
300A0772	SQ	1	-	MeasuredMetersetToDoseMappingSequence	Measured Meterset to Dose Mapping Sequence
300A0773	US	1	-	ReferencedExpectedInVivoMeasurementValueIndex	Referenced Expected In-Vivo Measurement Value Index
300A0774	SQ	1	-	DoseMeasurementDeviceCodeSequence	Dose Measurement Device Code Sequence
300A0780	SQ	1	-	AdditionalParameterRecordingInstanceSequence	Additional Parameter Recording Instance Sequence
300A0782	US	1	R		
300A0783	ST	1	-	InterlockOriginDescription	Interlock Origin Description
300A0784	SQ	1	-	RTPatientPositionScopeSequence	RT Patient Position Scope Sequence
300A0785	UI	1	-	ReferencedTreatmentPositionGroupUID	Referenced Treatment Position Group UID
300A0786	US	1	-	RadiationOrderIndex	Radiation Order Index
300A0787	SQ	1	-	OmittedRadiationSequence	Omitted Radiation Sequence
300A0788	SQ	1	-	ReasonForOmissionCodeSequence	Reason for Omission Code Sequence
300A0789	SQ	1	-	RTDeliveryStartPatientPositionSequence	RT Delivery Start Patient Position Sequence
300A078A	SQ	1	-	RTTreatmentPreparationPatientPositionSequence	RT Treatment Preparation Patient Position Sequence
300A078B	SQ	1	-	ReferencedRTTreatmentPreparationSequence	Referenced RT Treatment Preparation Sequence
300A078C	SQ	1	-	ReferencedPatientSetupPhotoSequence	Referenced Patient Setup Photo Sequence
300A078D	SQ	1	-	PatientTreatmentPreparationMethodCodeSequence	Patient Treatment Preparation Method Code Sequence
300A078E	LT	1	-	PatientTreatmentPreparationProcedureParameterDescription	Patient Treatment Preparation Procedure Parameter Description
300A078F	SQ	1	-	PatientTreatmentPreparationDeviceSequence	Patient Treatment Preparation Device Sequence
300A0790	SQ	1	-	PatientTreatmentPreparationProcedureSequence	Patient Treatment Preparation Procedure Sequence
300A0791	SQ	1	-	PatientTreatmentPreparationProcedureCodeSequence	Patient Treatment Preparation Procedure Code Sequence
300A0792	LT	1	-	PatientTreatmentPreparationMethodDescription	Patient Treatment Preparation Method Description
300A0793	SQ	1	-	PatientTreatmentPreparationProcedureParameterSequence	Patient Treatment Preparation Procedure Parameter Sequence
300A0794	LT	1	-	PatientSetupPhotoDescription	Patient Setup Photo Description
300A0795	US	1	-	PatientTreatmentPreparationProcedureIndex	Patient Treatment Preparation Procedure Index
300A0796	US	1	-	ReferencedPatientSetupProcedureIndex	Referenced Patient Setup Procedure Index
300A0797	SQ	1	-	RTRadiationTaskSequence	RT Radiation Task Sequence
300A0798	SQ	1	-	RTPatientPositionDisplacementSequence	RT Patient Position Displacement Sequence
300A0799	SQ	1	-	RTPatientPositionSequence	RT Patient Position Sequence
300A079A	LO	1	-	DisplacementReferenceLabel	Displacement Reference Label
300A079B	FD	16	-	DisplacementMatrix	Displacement Matrix
300A079C	SQ	1	-	PatientSupportDisplacementSequence	Patient Support Displacement Sequence
300A079D	SQ	1	-	DisplacementReferenceLocationCodeSequence	Displacement Reference Location Code Sequence
300A079E	CS	1	-	RTRadiationSetDeliveryUsage	RT Radiation Set Delivery Usage
300A079F	SQ	1	-	PatientTreatmentPreparationSequence	Patient Treatment Preparation Sequence
300A07A0	SQ	1	-	PatientToEquipmentRelationshipSequence	Patient to Equipment Relationship Sequence
300A07A1	SQ	1	-	ImagingEquipmentToTreatmentDeliveryDeviceRelationshipSequence	Imaging Equipment to Treatment Delivery Device Relationship Sequence
300C0002	SQ	1	-	ReferencedRTPlanSequence	Referenced RT Plan Sequence
300C0004	SQ	1	-	ReferencedBeamSequence	Referenced Beam Sequence
300C0006	IS	1	-	ReferencedBeamNumber	Referenced Beam Number
300C0007	IS	1	-	ReferencedReferenceImageNumber	Referenced Reference Image Number
300C0008	DS	1	-	StartCumulativeMetersetWeight	Start Cumulative Meterset Weight
300C0009	DS	1	-	EndCumulativeMetersetWeight	End Cumulative Meterset Weight
300C000A	SQ	1	-	ReferencedBrachyApplicationSetupSequence	Referenced Brachy Application Setup Sequence
300C000C	IS	1	-	ReferencedBrachyApplicationSetupNumber	Referenced Brachy Application Setup Number
300C000E	IS	1	-	ReferencedSourceNumber	Referenced Source Number
300C0020	SQ	1	-	ReferencedFractionGroupSequence	Referenced Fraction Group Sequence
300C0022	IS	1	-	ReferencedFractionGroupNumber	Referenced Fraction Group Number
300C0040	SQ	1	-	ReferencedVerificationImageSequence	Referenced Verification Image Sequence
300C0042	SQ	1	-	ReferencedReferenceImageSequence	Referenced Reference Image Sequence
300C0050	SQ	1	-	ReferencedDoseReferenceSequence	Referenced Dose Reference Sequence
300C0051	IS	1	-	ReferencedDoseReferenceNumber	Referenced Dose Reference Number
300C0055	SQ	1	-	BrachyReferencedDoseReferenceSequence	Brachy Referenced Dose Reference Sequence
300C0060	SQ	1	-	ReferencedStructureSetSequence	Referenced Structure Set Sequence
300C006A	IS	1	-	ReferencedPatientSetupNumber	Referenced Patient Setup Number
300C0080	SQ	1	-	ReferencedDoseSequence	Referenced Dose Sequence
300C00A0	IS	1	-	ReferencedToleranceTableNumber	Referenced Tolerance Table Number
300C00B0	SQ	1	-	ReferencedBolusSequence	Referenced Bolus Sequence
300C00C0	IS	1	-	ReferencedWedgeNumber	Referenced Wedge Number
300C00D0	IS	1	-	ReferencedCompensatorNumber	Referenced Compensator Number
300C00E0	IS	1	-	ReferencedBlockNumber	Referenced Block Number
300C00F0	IS	1	-	ReferencedControlPointIndex	Referenced Control Point Index
300C00F2	SQ	1	-	ReferencedControlPointSequence	Referenced Control Point Sequence
300C00F4	IS	1	-	ReferencedStartControlPointIndex	Referenced Start Control Point Index
300C00F6	IS	1	-	ReferencedStopControlPointIndex	Referenced Stop Control Point Index
300C0100	IS	1	-	ReferencedRangeShifterNumber	Referenced Range Shifter Number
300C0102	IS	1	-	ReferencedLateralSpreadingDeviceNumber	Referenced Lateral Spreading Device Number
300C0104	IS	1	-	ReferencedRangeModulatorNumber	Referenced Range Modulator Number
300C0111	SQ	1	-	OmittedBeamTaskSequence	Omitted Beam Task Sequence
300C0112	CS	1	-	ReasonForOmission	Reason for Omission
300C0113	LO	1	-	ReasonForOmissionDescription	Reason for Omission Description
300C0114	SQ	1	-	PrescriptionOverviewSequence	Prescription Overview Sequence
300C0115	FL	1	-	TotalPrescriptionDose	Total Prescription Dose
300C0116	SQ	1	-	PlanOverviewSequence	Plan Overview Sequence
300C0117	US	1	-	PlanOverviewIndex	Plan Overview Index
300C0118	US	1	-	ReferencedPlanOverviewIndex	Referenced Plan Overview Index
300C0119	US	1	-	NumberOfFractionsIncluded	Number of Fractions Included
300C0120	SQ	1	-	DoseCalibrationConditionsSequence	Dose Calibration Conditions Sequence
300C0121	FD	1	-	AbsorbedDoseToMetersetRatio	Absorbed Dose to Meterset Ratio
300C0122	FD	2	-	DelineatedRadiationFieldSize	Delineated Radiation Field Size
300C0123	CS	1	-	DoseCalibrationConditionsVerifiedFlag	Dose Calibration Conditions Verified Flag
300C0124	FD	1	-	CalibrationReferencePointDepth	Calibration Reference Point Depth
300C0125	SQ	1	-	GatingBeamHoldTransitionSequence	Gating Beam Hold Transition Sequence
300C0126	CS	1	-	BeamHoldTransition	Beam Hold Transition
300C0127	DT	1	-	BeamHoldTransitionDateTime	Beam Hold Transition DateTime
300C0128	SQ	1	-	BeamHoldOriginatingDeviceSequence	Beam Hold Originating Device Sequence
300C0129	CS	1	-	BeamHoldTransitionTriggerSource	Beam Hold Transition Trigger Source
300E0002	CS	1	-	ApprovalStatus	Approval Status
300E0004	DA	1	-	ReviewDate	Review Date
300E0005	TM	1	-	ReviewTime	Review Time
300E0008	PN	1	-	ReviewerName	Reviewer Name
30100001	SQ	1	-	RadiobiologicalDoseEffectSequence	Radiobiological Dose Effect Sequence
30100002	CS	1	-	RadiobiologicalDoseEffectFlag	Radiobiological Dose Effect Flag
30100003	SQ	1	-	EffectiveDoseCalculationMethodCategoryCodeSequence	Effective Dose Calculation Method Category Code Sequence
30100004	SQ	1	-	EffectiveDoseCalculationMethodCodeSequence	Effective Dose Calculation Method Code Sequence
30100005	LO	1	-	EffectiveDoseCalculationMethodDescription	Effective Dose Calculation Method Description
30100006	UI	1	-	ConceptualVolumeUID	Conceptual Volume UID
30100007	SQ	1	-	OriginatingSOPInstanceReferenceSequence	Originating SOP Instance Reference Sequence
30100008	SQ	1	-	ConceptualVolumeConstituentSequence	Conceptual Volume Constituent Sequence
30100009	SQ	1	-	EquivalentConceptualVolumeInstanceReferenceSequence	Equivalent Conceptual Volume Instance Reference Sequence
3010000A	SQ	1	-	EquivalentConceptualVolumesSequence	Equivalent Conceptual Volumes Sequence
3010000B	UI	1	-	ReferencedConceptualVolumeUID	Referenced Conceptual Volume UID
3010000C	UT	1	-	ConceptualVolumeCombinationExpression	Conceptual Volume Combination Expression
3010000D	US	1	-	ConceptualVolumeConstituentIndex	Conceptual Volume Constituent Index
3010000E	CS	1	-	ConceptualVolumeCombinationFlag	Conceptual Volume Combination Flag
3010000F	ST	1	-	ConceptualVolumeCombinationDescription	Conceptual Volume Combination Description
30100010	CS	1	-	ConceptualVolumeSegmentationDefinedFlag	Conceptual Volume Segmentation Defined Flag
30100011	SQ	1	-	ConceptualVolumeSegmentationReferenceSequence	Conceptual Volume Segmentation Reference Sequence
30100012	SQ	1	-	ConceptualVolumeConstituentSegmentationReferenceSequence	Conceptual Volume Constituent Segmentation Reference Sequence
30100013	UI	1	-	ConstituentConceptualVolumeUID	Constituent Conceptual Volume UID
30100014	SQ	1	-	DerivationConceptualVolumeSequence	Derivation Conceptual Volume Sequence
30100015	UI	1	-	SourceConceptualVolumeUID	Source Conceptual Volume UID
30100016	SQ	1	-	ConceptualVolumeDerivationAlgorithmSequence	Conceptual Volume Derivation Algorithm Sequence
30100017	ST	1	-	ConceptualVolumeDescription	Conceptual Volume Description
30100018	SQ	1	-	SourceConceptualVolumeSequence	Source Conceptual Volume Sequence
30100019	SQ	1	-	AuthorIdentificationSequence	Author Identification Sequence
3010001A	LO	1	-	ManufacturerModelVersion	Manufacturer's Model Version
3010001B	UC	1	-	DeviceAlternateIdentifier	Device Alternate Identifier
3010001C	CS	1	-	DeviceAlternateIdentifierType	Device Alternate Identifier Type
3010001D	LT	1	-	DeviceAlternateIdentifierFormat	Device Alternate Identifier Format
3010001E	LO	1	-	SegmentationCreationTemplateLabel	Segmentation Creation Template Label
3010001F	UI	1	-	SegmentationTemplateUID	Segmentation Template UID
30100020	US	1	-	ReferencedSegmentReferenceIndex	Referenced Segment Reference Index
30100021	SQ	1	-	SegmentReferenceSequence	Segment Reference Sequence
30100022	US	1	-	SegmentReferenceIndex	Segment Reference Index
30100023	SQ	1	-	DirectSegmentReferenceSequence	Direct Segment Reference Sequence
30100024	SQ	1	-	CombinationSegmentReferenceSequence	Combination Segment Reference Sequence
30100025	SQ	1	-	ConceptualVolumeSequence	Conceptual Volume Sequence
30100026	SQ	1	-	SegmentedRTAccessoryDeviceSequence	Segmented RT Accessory Device Sequence
30100027	SQ	1	-	SegmentCharacteristicsSequence	Segment Characteristics Sequence
30100028	SQ	1	-	RelatedSegmentCharacteristicsSequence	Related Segment Characteristics Sequence
30100029	US	1	-	SegmentCharacteristicsPrecedence	Segment Characteristics Precedence
3010002A	SQ	1	-	RTSegmentAnnotationSequence	RT Segment Annotation Sequence
3010002B	SQ	1	-	SegmentAnnotationCategoryCodeSequence	Segment Annotation Category Code Sequence
3010002C	SQ	1	-	SegmentAnnotationTypeCodeSequence	Segment Annotation Type Code Sequence
3010002D	LO	1	-	DeviceLabel	Device Label
3010002E	SQ	1	-	DeviceTypeCodeSequence	Device Type Code Sequence
3010002F	SQ	1	-	SegmentAnnotationTypeModifierCodeSequence	Segment Annotation Type Modifier Code Sequence
30100030	SQ	1	-	PatientEquipmentRelationshipCodeSequence	Patient Equipment Relationship Code Sequence
30100031	UI	1	-	ReferencedFiducialsUID	Referenced Fiducials UID
30100032	SQ	1	-	PatientTreatmentOrientationSequence	Patient Treatment Orientation Sequence
30100033	SH	1	-	UserContentLabel	User Content Label
30100034	LO	1	-	UserContentLongLabel	User Content Long Label
30100035	SH	1	-	EntityLabel	Entity Label
30100036	LO	1	-	EntityName	Entity Name
30100037	ST	1	-	EntityDescription	Entity Description
30100038	LO	1	-	EntityLongLabel	Entity Long Label
30100039	US	1	-	DeviceIndex	Device Index
3010003A	US	1	-	RTTreatmentPhaseIndex	RT Treatment Phase Index
3010003B	UI	1	-	RTTreatmentPhaseUID	RT Treatment Phase UID
3010003C	US	1	-	RTPrescriptionIndex	RT Prescription Index
3010003D	US	1	-	RTSegmentAnnotationIndex	RT Segment Annotation Index
3010003E	US	1	-	BasisRTTreatmentPhaseIndex	Basis RT Treatment Phase Index
3010003F	US	1	-	RelatedRTTreatmentPhaseIndex	Related RT Treatment Phase Index
30100040	US	1	-	ReferencedRTTreatmentPhaseIndex	Referenced RT Treatment Phase Index
30100041	US	1	-	ReferencedRTPrescriptionIndex	Referenced RT Prescription Index
30100042	US	1	-	ReferencedParentRTPrescriptionIndex	Referenced Parent RT Prescription Index
30100043	ST	1	-	ManufacturerDeviceIdentifier	Manufacturer's Device Identifier
30100044	SQ	1	-	InstanceLevelReferencedPerformedProcedureStepSequence	Instance-Level Referenced Performed Procedure Step Sequence
30100045	CS	1	-	RTTreatmentPhaseIntentPresenceFlag	RT Treatment Phase Intent Presence Flag
30100046	CS	1	-	RadiotherapyTreatmentType	Radiotherapy Treatment Type
30100047	CS	1-n	-	TeletherapyRadiationType	Teletherapy Radiation Type
30100048	CS	1-n	-	BrachytherapySourceType	Brachytherapy Source Type
30100049	SQ	1	-	ReferencedRTTreatmentPhaseSequence	Referenced RT Treatment Phase Sequence
3010004A	SQ	1	-	ReferencedDirectSegmentInstanceSequence	Referenced Direct Segment Instance Sequence
3010004B	SQ	1	-	IntendedRTTreatmentPhaseSequence	Intended RT Treatment Phase Sequence
3010004C	DA	1	-	IntendedPhaseStartDate	Intended Phase Start Date
3010004D	DA	1	-	IntendedPhaseEndDate	Intended Phase End Date
3010004E	SQ	1	-	RTTreatmentPhaseIntervalSequence	RT Treatment Phase Interval Sequence
3010004F	CS	1	-	TemporalRelationshipIntervalAnchor	Temporal Relationship Interval Anchor
30100050	FD	1	-	MinimumNumberOfIntervalDays	Minimum Number of Interval Days
30100051	FD	1	-	MaximumNumberOfIntervalDays	Maximum Number of Interval Days
30100052	UI	1-n	-	PertinentSOPClassesInStudy	Pertinent SOP Classes in Study
30100053	UI	1-n	-	PertinentSOPClassesInSeries	Pertinent SOP Classes in Series
30100054	LO	1	-	RTPrescriptionLabel	RT Prescription Label
30100055	SQ	1	-	RTPhysicianIntentPredecessorSequence	RT Physician Intent Predecessor Sequence
30100056	LO	1	-	RTTreatmentApproachLabel	RT Treatment Approach Label
30100057	SQ	1	-	RTPhysicianIntentSequence	RT Physician Intent Sequence
30100058	US	1	-	RTPhysicianIntentIndex	RT Physician Intent Index
30100059	CS	1	-	RTTreatmentIntentType	RT Treatment Intent Type
3010005A	UT	1	-	RTPhysicianIntentNarrative	RT Physician Intent Narrative
3010005B	SQ	1	-	RTProtocolCodeSequence	RT Protocol Code Sequence
3010005C	ST	1	-	ReasonForSuperseding	Reason for Superseding
3010005D	SQ	1	-	RTDiagnosisCodeSequence	RT Diagnosis Code Sequence
3010005E	US	1	-	ReferencedRTPhysicianIntentIndex	Referenced RT Physician Intent Index
3010005F	SQ	1	-	RTPhysicianIntentInputInstanceSequence	RT Physician Intent Input Instance Sequence
30100060	SQ	1	-	RTAnatomicPrescriptionSequence	RT Anatomic Prescription Sequence
30100061	UT	1	-	PriorTreatmentDoseDescription	Prior Treatment Dose Description
30100062	SQ	1	-	PriorTreatmentReferenceSequence	Prior Treatment Reference Sequence
30100063	CS	1	-	DosimetricObjectiveEvaluationScope	Dosimetric Objective Evaluation Scope
30100064	SQ	1	-	TherapeuticRoleCategoryCodeSequence	Therapeutic Role Category Code Sequence
30100065	SQ	1	-	TherapeuticRoleTypeCodeSequence	Therapeutic Role Type Code Sequence
30100066	US	1	-	ConceptualVolumeOptimizationPrecedence	Conceptual Volume Optimization Precedence
30100067	SQ	1	-	ConceptualVolumeCategoryCodeSequence	Conceptual Volume Category Code Sequence
30100068	CS	1	-	ConceptualVolumeBlockingConstraint	Conceptual Volume Blocking Constraint
30100069	SQ	1	-	ConceptualVolumeTypeCodeSequence	Conceptual Volume Type Code Sequence
3010006A	SQ	1	-	ConceptualVolumeTypeModifierCodeSequence	Conceptual Volume Type Modifier Code Sequence
3010006B	SQ	1	-	RTPrescriptionSequence	RT Prescription Sequence
3010006C	SQ	1	-	DosimetricObjectiveSequence	Dosimetric Objective Sequence
3010006D	SQ	1	-	DosimetricObjectiveTypeCodeSequence	Dosimetric Objective Type Code Sequence
3010006E	UI	1	-	DosimetricObjectiveUID	Dosimetric Objective UID
3010006F	UI	1	-	ReferencedDosimetricObjectiveUID	Referenced Dosimetric Objective UID
30100070	SQ	1	-	DosimetricObjectiveParameterSequence	Dosimetric Objective Parameter Sequence
30100071	SQ	1	-	ReferencedDosimetricObjectivesSequence	Referenced Dosimetric Objectives Sequence
30100073	CS	1	-	AbsoluteDosimetricObjectiveFlag	Absolute Dosimetric Objective Flag
30100074	FD	1	-	DosimetricObjectiveWeight	Dosimetric Objective Weight
30100075	CS	1	-	DosimetricObjectivePurpose	Dosimetric Objective Purpose
30100076	SQ	1	-	PlanningInputInformationSequence	Planning Input Information Sequence
30100077	LO	1	-	TreatmentSite	Treatment Site
30100078	SQ	1	-	TreatmentSiteCodeSequence	Treatment Site Code Sequence
30100079	SQ	1	-	FractionPatternSequence	Fraction Pattern Sequence
3010007A	UT	1	-	TreatmentTechniqueNotes	Treatment Technique Notes
3010007B	UT	1	-	PrescriptionNotes	Prescription Notes
3010007C	IS	1	-	NumberOfIntervalFractions	Number of Interval Fractions
3010007D	US	1	-	NumberOfFractions	Number of Fractions
3010007E	US	1	-	IntendedDeliveryDuration	Intended Delivery Duration
3010007F	UT	1	-	FractionationNotes	Fractionation Notes
30100080	SQ	1	-	RTTreatmentTechniqueCodeSequence	RT Treatment Technique Code Sequence
30100081	SQ	1	-	PrescriptionNotesSequence	Prescription Notes Sequence
30100082	SQ	1	-	FractionBasedRelationshipSequence	Fraction-Based Relationship Sequence
30100083	CS	1	-	FractionBasedRelationshipIntervalAnchor	Fraction-Based Relationship Interval Anchor
30100084	FD	1	-	MinimumHoursBetweenFractions	Minimum Hours between Fractions
30100085	TM	1-n	-	IntendedFractionStartTime	Intended Fraction Start Time
30100086	LT	1	-	IntendedStartDayOfWeek	Intended Start Day of Week
30100087	SQ	1	-	WeekdayFractionPatternSequence	Weekday Fraction Pattern Sequence
30100088	SQ	1	-	DeliveryTimeStructureCodeSequence	Delivery Time Structure Code Sequence
30100089	SQ	1	-	TreatmentSiteModifierCodeSequence	Treatment Site Modifier Code Sequence
30100090	CS	1	R	RoboticBaseLocationIndicator	Robotic Base Location Indicator
30100091	SQ	1	-	RoboticPathNodeSetCodeSequence	Robotic Path Node Set Code Sequence
30100092	UL	1	-	RoboticNodeIdentifier	Robotic Node Identifier
30100093	FD	3	-	RTTreatmentSourceCoordinates	RT Treatment Source Coordinates
30100094	FD	1	-	RadiationSourceCoordinateSystemYawAngle	Radiation Source Coordinate SystemYaw Angle
30100095	FD	1	-	RadiationSourceCoordinateSystemRollAngle	Radiation Source Coordinate SystemRoll Angle
30100096	FD	1	-	RadiationSourceCoordinateSystemPitchAngle	Radiation Source Coordinate System Pitch Angle
30100097	SQ	1	-	RoboticPathControlPointSequence	Robotic Path Control Point Sequence
30100098	SQ	1	-	TomotherapeuticControlPointSequence	Tomotherapeutic Control Point Sequence
30100099	FD	1-n	-	TomotherapeuticLeafOpenDurations	Tomotherapeutic Leaf Open Durations
3010009A	FD	1-n	-	TomotherapeuticLeafInitialClosedDurations	Tomotherapeutic Leaf Initial Closed Durations
301000A0	SQ	1	-	ConceptualVolumeIdentificationSequence	Conceptual Volume Identification Sequence
40000010	LT	1	R	Arbitrary	Arbitrary
40004000	LT	1	R	TextComments	Text Comments
40080040	SH	1	R	ResultsID	Results ID
40080042	LO	1	R	ResultsIDIssuer	Results ID Issuer
40080050	SQ	1	R	ReferencedInterpretationSequence	Referenced Interpretation Sequence
400800FF	CS	1	R	ReportProductionStatusTrial	Report Production Status (Trial)
40080100	DA	1	R	InterpretationRecordedDate	Interpretation Recorded Date
40080101	TM	1	R	InterpretationRecordedTime	Interpretation Recorded Time
40080102	PN	1	R	InterpretationRecorder	Interpretation Recorder
40080103	LO	1	R	ReferenceToRecordedSound	Reference to Recorded Sound
40080108	DA	1	R	InterpretationTranscriptionDate	Interpretation Transcription Date
40080109	TM	1	R	InterpretationTranscriptionTime	Interpretation Transcription Time
4008010A	PN	1	R	InterpretationTranscriber	Interpretation Transcriber
4008010B	ST	1	R	InterpretationText	Interpretation Text
4008010C	PN	1	R	InterpretationAuthor	Interpretation Author
40080111	SQ	1	R	InterpretationApproverSequence	Interpretation Approver Sequence
40080112	DA	1	R	InterpretationApprovalDate	Interpretation Approval Date
40080113	TM	1	R	InterpretationApprovalTime	Interpretation Approval Time
40080114	PN	1	R	PhysicianApprovingInterpretation	Physician Approving Interpretation
40080115	LT	1	R	InterpretationDiagnosisDescription	Interpretation Diagnosis Description
40080117	SQ	1	R	InterpretationDiagnosisCodeSequence	Interpretation Diagnosis Code Sequence
40080118	SQ	1	R	ResultsDistributionListSequence	Results Distribution List Sequence
40080119	PN	1	R	DistributionName	Distribution Name
4008011A	LO	1	R	DistributionAddress	Distribution Address
40080200	SH	1	R	InterpretationID	Interpretation ID
40080202	LO	1	R	InterpretationIDIssuer	Interpretation ID Issuer
40080210	CS	1	R	InterpretationTypeID	Interpretation Type ID
40080212	CS	1	R	InterpretationStatusID	Interpretation Status ID
40080300	ST	1	R	Impressions	Impressions
40084000	ST	1	R	ResultsComments	Results Comments
40100001	CS	1	-	LowEnergyDetectors	Low Energy Detectors
40100002	CS	1	-	HighEnergyDetectors	High Energy Detectors
40100004	SQ	1	-	DetectorGeometrySequence	Detector Geometry Sequence
40101001	SQ	1	-	ThreatROIVoxelSequence	Threat ROI Voxel Sequence
40101004	FL	3	-	ThreatROIBase	Threat ROI Base
40101005	FL	3	-	ThreatROIExtents	Threat ROI Extents
40101006	OB	1	-	ThreatROIBitmap	Threat ROI Bitmap
40101007	SH	1	-	RouteSegmentID	Route Segment ID
40101008	CS	1	-	GantryType	Gantry Type
40101009	CS	1	-	OOIOwnerType	OOI Owner Type
4010100A	SQ	1	-	RouteSegmentSequence	Route Segment Sequence
40101010	US	1	-	PotentialThreatObjectID	Potential Threat Object ID
40101011	SQ	1	-	ThreatSequence	Threat Sequence
40101012	CS	1	-	ThreatCategory	Threat Category
40101013	LT	1	-	ThreatCategoryDescription	Threat Category Description
40101014	CS	1	-	ATDAbilityAssessment	ATD Ability Assessment
40101015	CS	1	-	ATDAssessmentFlag	ATD Assessment Flag
40101016	FL	1	-	ATDAssessmentProbability	ATD Assessment Probability
40101017	FL	1	-	Mass	Mass
40101018	FL	1	-	Density	Density
40101019	FL	1	-	ZEffective	Z Effective
4010101A	SH	1	-	BoardingPassID	Boarding Pass ID
4010101B	FL	3	-	CenterOfMass	Center of Mass
4010101C	FL	3	-	CenterOfPTO	Center of PTO
4010101D	FL	6-n	-	BoundingPolygon	Bounding Polygon
4010101E	SH	1	-	RouteSegmentStartLocationID	Route Segment Start Location ID
4010101F	SH	1	-	RouteSegmentEndLocationID	Route Segment End Location ID
40101020	CS	1	-	RouteSegmentLocationIDType	Route Segment Location ID Type
40101021	CS	1-n	-	AbortReason	Abort Reason
40101023	FL	1	-	VolumeOfPTO	Volume of PTO
40101024	CS	1	-	AbortFlag	Abort Flag
40101025	DT	1	-	RouteSegmentStartTime	Route Segment Start Time
40101026	DT	1	-	RouteSegmentEndTime	Route Segment End Time
40101027	CS	1	-	TDRType	TDR Type
40101028	CS	1	-	InternationalRouteSegment	International Route Segment
40101029	LO	1-n	-	ThreatDetectionAlgorithmAndVersion	Threat Detection Algorithm and Version
4010102A	SH	1	-	AssignedLocation	Assigned Location
4010102B	DT	1	-	AlarmDecisionTime	Alarm Decision Time
40101031	CS	1	-	AlarmDecision	Alarm Decision
40101033	US	1	-	NumberOfTotalObjects	Number of Total Objects
40101034	US	1	-	NumberOfAlarmObjects	Number of Alarm Objects
40101037	SQ	1	-	PTORepresentationSequence	PTO Representation Sequence
40101038	SQ	1	-	ATDAssessmentSequence	ATD Assessment Sequence
40101039	CS	1	-	TIPType	TIP Type
4010103A	CS	1	-	DICOSVersion	DICOS Version
40101041	DT	1	-	OOIOwnerCreationTime	OOI Owner Creation Time
40101042	CS	1	-	OOIType	OOI Type
40101043	FL	3	-	OOISize	OOI Size
40101044	CS	1	-	AcquisitionStatus	Acquisition Status
40101045	SQ	1	-	BasisMaterialsCodeSequence	Basis Materials Code Sequence
40101046	CS	1	-	PhantomType	Phantom Type
40101047	SQ	1	-	OOIOwnerSequence	OOI Owner Sequence
40101048	CS	1	-	ScanType	Scan Type
40101051	LO	1	-	ItineraryID	Itinerary ID
40101052	SH	1	-	ItineraryIDType	Itinerary ID Type
40101053	LO	1	-	ItineraryIDAssigningAuthority	Itinerary ID Assigning Authority
40101054	SH	1	-	RouteID	Route ID
40101055	SH	1	-	RouteIDAssigningAuthority	Route ID Assigning Authority
40101056	CS	1	-	InboundArrivalType	Inbound Arrival Type
40101058	SH	1	-	CarrierID	Carrier ID
40101059	CS	1	-	CarrierIDAssigningAuthority	Carrier ID Assigning Authority
40101060	FL	3	-	SourceOrientation	Source Orientation
40101061	FL	3	-	SourcePosition	Source Position
40101062	FL	1	-	BeltHeight	Belt Height
40101064	SQ	1	-	AlgorithmRoutingCodeSequence	Algorithm Routing Code Sequence
40101067	CS	1	-	TransportClassification	Transport Classification
40101068	LT	1	-	OOITypeDescriptor	OOI Type Descriptor
40101069	FL	1	-	TotalProcessingTime	Total Processing Time
4010106C	OB	1	-	DetectorCalibrationData	Detector Calibration Data
4010106D	CS	1	-	AdditionalScreeningPerformed	Additional Screening Performed
4010106E	CS	1	-	AdditionalInspectionSelectionCriteria	Additional Inspection Selection Criteria
4010106F	SQ	1	-	AdditionalInspectionMethodSequence	Additional Inspection Method Sequence
40101070	CS	1	-	AITDeviceType	AIT Device Type
40101071	SQ	1	-	QRMeasurementsSequence	QR Measurements Sequence
40101072	SQ	1	-	TargetMaterialSequence	Target Material Sequence
40101073	FD	1	-	SNRThreshold	SNR Threshold
40101075	DS	1	-	ImageScaleRepresentation	Image Scale Representation
40101076	SQ	1	-	ReferencedPTOSequence	Referenced PTO Sequence
40101077	SQ	1	-	ReferencedTDRInstanceSequence	Referenced TDR Instance Sequence
40101078	ST	1	-	PTOLocationDescription	PTO Location Description
40101079	SQ	1	-	AnomalyLocatorIndicatorSequence	Anomaly Locator Indicator Sequence
4010107A	FL	3	-	AnomalyLocatorIndicator	Anomaly Locator Indicator
4010107B	SQ	1	-	PTORegionSequence	PTO Region Sequence
4010107C	CS	1	-	InspectionSelectionCriteria	Inspection Selection Criteria
4010107D	SQ	1	-	SecondaryInspectionMethodSequence	Secondary Inspection Method Sequence
4010107E	DS	6	-	PRCSToRCSOrientation	PRCS to RCS Orientation
4FFE0001	SQ	1	-	MACParametersSequence	MAC Parameters Sequence
52009229	SQ	1	-	SharedFunctionalGroupsSequence	Shared Functional Groups Sequence
52009230	SQ	1	-	PerFrameFunctionalGroupsSequence	Per-Frame Functional Groups Sequence
54000100	SQ	1	-	WaveformSequence	Waveform Sequence
54000110	OB/OW	1	-	ChannelMinimumValue	Channel Minimum Value
54000112	OB/OW	1	-	ChannelMaximumValue	Channel Maximum Value
54001004	US	1	-	WaveformBitsAllocated	Waveform Bits Allocated
54001006	CS	1	-	WaveformSampleInterpretation	Waveform Sample Interpretation
5400100A	OB/OW	1	-	WaveformPaddingValue	Waveform Padding Value
54001010	OB/OW	1	-	WaveformData	Waveform Data
56000010	OF	1	-	FirstOrderPhaseCorrectionAngle	First Order Phase Correction Angle
56000020	OF	1	-	SpectroscopyData	Spectroscopy Data
7FE00001	OV	1	-	ExtendedOffsetTable	Extended Offset Table
7FE00002	OV	1	-	ExtendedOffsetTableLengths	Extended Offset Table Lengths
7FE00003	UV	1	-	EncapsulatedPixelDataValueTotalLength	Encapsulated Pixel Data Value Total Length
7FE00008	OF	1	-	FloatPixelData	Float Pixel Data
7FE00009	OD	1	-	DoubleFloatPixelData	Double Float Pixel Data
7FE00010	OB/OW	1	-	PixelData	Pixel Data
7FE00020	OW	1	R	CoefficientsSDVN	Coefficients SDVN
7FE00030	OW	1	R	CoefficientsSDHN	Coefficients SDHN
7FE00040	OW	1	R	CoefficientsSDDN	Coefficients SDDN
FFFAFFFA	SQ	1	-	DigitalSignaturesSequence	Digital Signatures Sequence
FFFCFFFC	OB	1	-	DataSetTrailingPadding	Data Set Trailing Padding
FFFEE000	UN	1	-	Item	Item
FFFEE00D	UN	1	-	ItemDelimitationItem	Item Delimitation Item
FFFEE0DD	UN	1	-	SequenceDelimitationItem	Sequence Delimitation Item
002031xx	CS	1-n	R	SourceImageIDs	Source Image IDs
002804x0	US	1	R	RowsForNthOrderCoefficients	Rows For Nth Order Coefficients
002804x1	US	1	R	ColumnsForNthOrderCoefficients	Columns For Nth Order Coefficients
002804x2	LO	1-n	R	CoefficientCoding	Coefficient Coding
002804x3	AT	1-n	R	CoefficientCodingPointers	Coefficient Coding Pointers
002808x0	CS	1-n	R	CodeLabel	Code Label
002808x2	US	1	R	NumberOfTables	Number of Tables
002808x3	AT	1-n	R	CodeTableLocation	Code Table Location
002808x4	US	1	R	BitsForCodeWord	Bits For Code Word
002808x8	AT	1-n	R	ImageDataLocation	Image Data Location
1000xxx0	US	3	R	EscapeTriplet	Escape Triplet
1000xxx1	US	3	R	RunLengthTriplet	Run Length Triplet
1000xxx2	US	1	R	HuffmanTableSize	Huffman Table Size
1000xxx3	US	3	R	HuffmanTableTriplet	Huffman Table Triplet
1000xxx4	US	1	R	ShiftTableSize	Shift Table Size
1000xxx5	US	3	R	ShiftTableTriplet	Shift Table Triplet
1010xxxx	US	1-n	R	ZonalMap	Zonal Map
50xx0005	US	1	R	CurveDimensions	Curve Dimensions
50xx0010	US	1	R	NumberOfPoints	Number of Points
50xx0020	CS	1	R	TypeOfData	Type of Data
50xx0022	LO	1	R	CurveDescription	Curve Description
50xx0030	SH	1-n	R	AxisUnits	Axis Units
50xx0040	SH	1-n	R	AxisLabels	Axis Labels
50xx0103	US	1	R	DataValueRepresentation	Data Value Representation
50xx0104	US	1-n	R	MinimumCoordinateValue	Minimum Coordinate Value
50xx0105	US	1-n	R	MaximumCoordinateValue	Maximum Coordinate Value
50xx0106	SH	1-n	R	CurveRange	Curve Range
50xx0110	US	1-n	R	CurveDataDescriptor	Curve Data Descriptor
50xx0112	US	1-n	R	CoordinateStartValue	Coordinate Start Value
50xx0114	US	1-n	R	CoordinateStepValue	Coordinate Step Value
50xx1001	CS	1	R	CurveActivationLayer	Curve Activation Layer
50xx2000	US	1	R	AudioType	Audio Type
50xx2002	US	1	R	AudioSampleFormat	Audio Sample Format
50xx2004	US	1	R	NumberOfChannels	Number of Channels
50xx2006	UL	1	R	NumberOfSamples	Number of Samples
50xx2008	UL	1	R	SampleRate	Sample Rate
50xx200A	UL	1	R	TotalTime	Total Time
50xx200C	OB/OW	1	R	AudioSampleData	Audio Sample Data
50xx200E	LT	1	R	AudioComments	Audio Comments
50xx2500	LO	1	R	CurveLabel	Curve Label
50xx2600	SQ	1	R	CurveReferencedOverlaySequence	Curve Referenced Overlay Sequence
50xx2610	US	1	R	CurveReferencedOverlayGroup	Curve Referenced Overlay Group
50xx3000	OB/OW	1	R	CurveData	Curve Data
60xx0010	US	1	-	OverlayRows	Overlay Rows
60xx0011	US	1	-	OverlayColumns	Overlay Columns
60xx0012	US	1	R	OverlayPlanes	Overlay Planes
60xx0015	IS	1	-	NumberOfFramesInOverlay	Number of Frames in Overlay
60xx0022	LO	1	-	OverlayDescription	Overlay Description
60xx0040	CS	1	-	OverlayType	Overlay Type
60xx0045	LO	1	-	OverlaySubtype	Overlay Subtype
60xx0050	SS	2	-	OverlayOrigin	Overlay Origin
60xx0051	US	1	-	ImageFrameOrigin	Image Frame Origin
60xx0052	US	1	R	OverlayPlaneOrigin	Overlay Plane Origin
60xx0060	CS	1	R	OverlayCompressionCode	Overlay Compression Code
60xx0061	SH	1	R	OverlayCompressionOriginator	Overlay Compression Originator
60xx0062	SH	1	R	OverlayCompressionLabel	Overlay Compression Label
60xx0063	CS	1	R	OverlayCompressionDescription	Overlay Compression Description
60xx0066	AT	1-n	R	OverlayCompressionStepPointers	Overlay Compression Step Pointers
60xx0068	US	1	R	OverlayRepeatInterval	Overlay Repeat Interval
60xx0069	US	1	R	OverlayBitsGrouped	Overlay Bits Grouped
60xx0100	US	1	-	OverlayBitsAllocated	Overlay Bits Allocated
60xx0102	US	1	-	OverlayBitPosition	Overlay Bit Position
60xx0110	CS	1	R	OverlayFormat	Overlay Format
60xx0200	US	1	R	OverlayLocation	Overlay Location
60xx0800	CS	1-n	R	OverlayCodeLabel	Overlay Code Label
60xx0802	US	1	R	OverlayNumberOfTables	Overlay Number of Tables
60xx0803	AT	1-n	R	OverlayCodeTableLocation	Overlay Code Table Location
60xx0804	US	1	R	OverlayBitsForCodeWord	Overlay Bits For Code Word
60xx1001	CS	1	-	OverlayActivationLayer	Overlay Activation Layer
60xx1100	US	1	R	OverlayDescriptorGray	Overlay Descriptor - Gray
60xx1101	US	1	R	OverlayDescriptorRed	Overlay Descriptor - Red
60xx1102	US	1	R	OverlayDescriptorGreen	Overlay Descriptor - Green
60xx1103	US	1	R	OverlayDescriptorBlue	Overlay Descriptor - Blue
60xx1200	US	1-n	R	OverlaysGray	Overlays - Gray
60xx1201	US	1-n	R	OverlaysRed	Overlays - Red
60xx1202	US	1-n	R	OverlaysGreen	Overlays - Green
60xx1203	US	1-n	R	OverlaysBlue	Overlays - Blue
60xx1301	IS	1	-	ROIArea	ROI Area
60xx1302	DS	1	-	ROIMean	ROI Mean
60xx1303	DS	1	-	ROIStandardDeviation	ROI Standard Deviation
60xx1500	LO	1	-	OverlayLabel	Overlay Label
60xx3000	OB/OW	1	-	OverlayData	Overlay Data
60xx4000	LT	1	R	OverlayComments	Overlay Comments
7Fxx0010	OB/OW	1	R	VariablePixelData	Variable Pixel Data
7Fxx0011	US	1	R	VariableNextDataGroup	Variable Next Data Group
7Fxx0020	OW	1	R	VariableCoefficientsSDVN	Variable Coefficients SDVN
7Fxx0030	OW	1	R	VariableCoefficientsSDHN	Variable Coefficients SDHN
7Fxx0040	OW	1	R	VariableCoefficientsSDDN	Variable Coefficients SDDN
"""#
}
