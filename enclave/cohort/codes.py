"""Vocabularies of the synthetic cohort: categories, centres and diagnosis codes.

Everything here is data, not logic. Proportions and effect sizes are loosely
modelled on published UK Biobank summaries; they make the cohort look and
behave plausibly, they are not estimates of anything.
"""

from __future__ import annotations

from dataclasses import dataclass

SEXES = ("Female", "Male")
FEMALE_SHARE = 0.544

# UK Biobank field 21000 collapsed to its top-level groups.
ETHNICITIES = (
    ("White", 0.941),
    ("Mixed", 0.006),
    ("Asian or Asian British", 0.020),
    ("Black or Black British", 0.016),
    ("Chinese", 0.003),
    ("Other ethnic group", 0.009),
)
ETHNICITY_MISSING = 0.005  # "prefer not to answer" / not recorded

# The 22 assessment centres: relative size and a deprivation offset that
# shifts the centre's Townsend index distribution.
ASSESSMENT_CENTRES = (
    ("Barts", 0.026, 2.0),
    ("Birmingham", 0.056, 1.2),
    ("Bristol", 0.066, -0.3),
    ("Bury", 0.045, 0.6),
    ("Cardiff", 0.036, 0.5),
    ("Croydon", 0.043, 0.8),
    ("Edinburgh", 0.034, -0.2),
    ("Glasgow", 0.035, 2.2),
    ("Hounslow", 0.047, 0.7),
    ("Leeds", 0.070, 0.2),
    ("Liverpool", 0.054, 1.6),
    ("Manchester", 0.029, 1.8),
    ("Middlesbrough", 0.036, 1.3),
    ("Newcastle", 0.062, 0.6),
    ("Nottingham", 0.061, 0.1),
    ("Oxford", 0.038, -0.8),
    ("Reading", 0.057, -0.9),
    ("Sheffield", 0.057, 0.4),
    ("Stockport", 0.003, -0.4),
    ("Stoke", 0.041, 0.5),
    ("Swansea", 0.004, 0.9),
    ("Wrexham", 0.002, 0.2),
)

SMOKING_STATUSES = ("Never", "Previous", "Current")

# UK Biobank field 1558, from least to most frequent, with marginal shares.
ALCOHOL_FREQUENCIES = (
    ("Never", 0.080),
    ("Special occasions only", 0.115),
    ("One to three times a month", 0.111),
    ("Once or twice a week", 0.257),
    ("Three or four times a week", 0.231),
    ("Daily or almost daily", 0.206),
)


@dataclass(frozen=True)
class DiagnosisCode:
    """One ICD-10 category and how its risk depends on the participant.

    ``risk`` is the probability of a first diagnosis during follow-up for a
    reference participant (aged 56, BMI 27, never smoked, female unless the
    code is male-only). Effects are log odds ratios: ``age`` per 10 years,
    ``bmi`` per 5 kg/m², ``smoking`` for current smokers (half for previous),
    ``male`` for men, ``ldl`` per mmol/L, ``sbp`` per 10 mmHg, ``hba1c`` per
    5 mmol/mol, each relative to the reference values in ``simulate``.
    """

    code: str
    description: str
    risk: float
    age: float = 0.0
    bmi: float = 0.0
    smoking: float = 0.0
    male: float = 0.0
    sex: str | None = None  # "Female" or "Male" when only that sex can have it
    ldl: float = 0.0
    sbp: float = 0.0
    hba1c: float = 0.0


DIAGNOSIS_CODES = (
    DiagnosisCode("E03", "Other hypothyroidism", 0.040, 0.2, 0.15, -0.2, -1.3),
    DiagnosisCode("E11", "Type 2 diabetes mellitus", 0.030, 0.35, 0.75, 0.2, 0.5, hba1c=0.8),
    DiagnosisCode("E55", "Vitamin D deficiency", 0.030, 0.1, 0.3, 0.1, -0.3),
    DiagnosisCode("E66", "Obesity", 0.040, -0.1, 1.2, 0.0, -0.2),
    DiagnosisCode("E78", "Disorders of lipoprotein metabolism", 0.150, 0.4, 0.2, 0.1, 0.2, ldl=0.4),
    DiagnosisCode("I10", "Essential (primary) hypertension", 0.16, 0.45, 0.45, 0.0, 0.25, sbp=0.35),
    DiagnosisCode("I20", "Angina pectoris", 0.030, 0.5, 0.25, 0.5, 0.6, ldl=0.2),
    DiagnosisCode("I21", "Acute myocardial infarction", 0.013, 0.5, 0.2, 0.8, 1.0, ldl=0.3, sbp=0.1),
    DiagnosisCode("I25", "Chronic ischaemic heart disease", 0.040, 0.6, 0.25, 0.5, 0.9, ldl=0.3),
    DiagnosisCode("I48", "Atrial fibrillation and flutter", 0.050, 0.9, 0.3, 0.1, 0.5),
    DiagnosisCode("I50", "Heart failure", 0.015, 1.0, 0.45, 0.5, 0.6, sbp=0.1),
    DiagnosisCode("I63", "Cerebral infarction", 0.018, 0.9, 0.15, 0.6, 0.3, sbp=0.2),
    DiagnosisCode("I83", "Varicose veins of lower extremities", 0.030, 0.2, 0.2, 0.0, -0.5),
    DiagnosisCode("J18", "Pneumonia, organism unspecified", 0.050, 0.7, 0.1, 0.8, 0.3),
    DiagnosisCode("J44", "Other chronic obstructive pulmonary disease", 0.020, 0.6, 0.0, 1.8, 0.2),
    DiagnosisCode("J45", "Asthma", 0.070, 0.0, 0.25, 0.2, -0.3),
    DiagnosisCode("C18", "Malignant neoplasm of colon", 0.010, 0.6, 0.15, 0.2, 0.3),
    DiagnosisCode("C34", "Malignant neoplasm of bronchus and lung", 0.006, 0.6, -0.1, 2.2, 0.2),
    DiagnosisCode("C43", "Malignant melanoma of skin", 0.010, 0.3, 0.0, -0.1, 0.1),
    DiagnosisCode("C44", "Other malignant neoplasms of skin", 0.060, 0.7, 0.0, 0.0, 0.3),
    DiagnosisCode("C50", "Malignant neoplasm of breast", 0.050, 0.2, 0.1, 0.1, sex="Female"),
    DiagnosisCode("C53", "Malignant neoplasm of cervix uteri", 0.002, -0.2, 0.1, 0.5, sex="Female"),
    DiagnosisCode("C54", "Malignant neoplasm of corpus uteri", 0.007, 0.3, 0.6, -0.2, sex="Female"),
    DiagnosisCode("C56", "Malignant neoplasm of ovary", 0.005, 0.3, 0.05, 0.0, sex="Female"),
    DiagnosisCode("C61", "Malignant neoplasm of prostate", 0.070, 0.7, -0.05, -0.1, sex="Male"),
    DiagnosisCode("D25", "Leiomyoma of uterus", 0.030, -0.5, 0.2, -0.2, sex="Female"),
    DiagnosisCode("D64", "Other anaemias", 0.060, 0.6, 0.0, 0.2, -0.1),
    DiagnosisCode("F32", "Depressive episode", 0.060, -0.3, 0.25, 0.6, -0.5),
    DiagnosisCode("F41", "Other anxiety disorders", 0.050, -0.3, 0.1, 0.5, -0.6),
    DiagnosisCode("G30", "Alzheimer disease", 0.008, 1.6, -0.2, 0.2, 0.0),
    DiagnosisCode("G47", "Sleep disorders", 0.030, 0.1, 0.9, 0.2, 0.8),
    DiagnosisCode("H25", "Senile cataract", 0.120, 1.1, 0.1, 0.2, -0.2),
    DiagnosisCode("H40", "Glaucoma", 0.030, 0.8, 0.0, 0.0, 0.2),
    DiagnosisCode("K21", "Gastro-oesophageal reflux disease", 0.120, 0.2, 0.35, 0.2, 0.0),
    DiagnosisCode("K57", "Diverticular disease of intestine", 0.100, 0.5, 0.3, 0.2, -0.1),
    DiagnosisCode("K80", "Cholelithiasis", 0.050, 0.2, 0.5, 0.0, -0.7),
    DiagnosisCode("L40", "Psoriasis", 0.015, 0.0, 0.3, 0.4, 0.1),
    DiagnosisCode("M16", "Coxarthrosis [arthrosis of hip]", 0.050, 0.7, 0.35, 0.0, -0.2),
    DiagnosisCode("M17", "Gonarthrosis [arthrosis of knee]", 0.080, 0.6, 0.7, -0.1, -0.2),
    DiagnosisCode("M54", "Dorsalgia", 0.060, 0.0, 0.25, 0.3, -0.1),
    DiagnosisCode("M81", "Osteoporosis without pathological fracture", 0.030, 0.9, -0.5, 0.4, -1.5),
    DiagnosisCode("N18", "Chronic kidney disease", 0.030, 1.0, 0.4, 0.2, 0.1, sbp=0.15),
    DiagnosisCode("N39", "Other disorders of urinary system", 0.070, 0.5, 0.1, 0.1, -0.6),
    DiagnosisCode("N40", "Hyperplasia of prostate", 0.120, 0.9, 0.05, -0.1, sex="Male"),
    DiagnosisCode("N81", "Female genital prolapse", 0.040, 0.3, 0.3, 0.0, sex="Female"),
    DiagnosisCode("N95", "Menopausal and other perimenopausal disorders", 0.03, -0.6, 0.0, 0.1, sex="Female"),
    DiagnosisCode("R07", "Pain in throat and chest", 0.100, 0.1, 0.2, 0.3, 0.1),
)
