# Stage 1-2: records from the committed snapshot and the reviewers' known reports; screening; PRISMA.


rule records:
    input:
        snapshot=snapshot_files,
        known_reports=f"{CURATED}/known_reports.csv",
    output:
        records="data/processed/records.csv",
        studies="data/processed/studies.csv",
    log:
        "logs/records.log",
    shell:
        "{KE} records --config {CONFIG_FILE} --snapshot-dir {SNAPSHOT} --curated-dir {CURATED}"
        " --records {output.records} --studies {output.studies} > {log} 2>&1"


rule screen:
    input:
        records="data/processed/records.csv",
        studies="data/processed/studies.csv",
        overrides=f"{CURATED}/screening_overrides.csv",
    output:
        "data/processed/screening.csv",
    log:
        "logs/screen.log",
    shell:
        "{KE} screen --config {CONFIG_FILE} --records {input.records} --studies {input.studies}"
        " --overrides {input.overrides} --output {output} > {log} 2>&1"


rule prisma:
    input:
        records="data/processed/records.csv",
        screening="data/processed/screening.csv",
        manifest=f"{SNAPSHOT}/manifest.json",
    output:
        "data/processed/prisma.json",
    log:
        "logs/prisma.log",
    shell:
        "{KE} prisma --records {input.records} --screening {input.screening}"
        " --snapshot-dir {SNAPSHOT} --output {output} > {log} 2>&1"
