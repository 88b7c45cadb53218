# Stage 1-2: records from the committed snapshot and the reviewers' known reports; screening; PRISMA.


rule records:
    input:
        manifest=f"{SNAPSHOT}/manifest.json",
        snapshot=snapshot_files,
        known_reports=f"{CURATED}/known_reports.csv",
    output:
        records=f"{OUT}data/processed/records.csv",
        studies=f"{OUT}data/processed/studies.csv",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        snapshot_dir=parent_of("manifest"),
        curated_dir=parent_of("known_reports"),
    log:
        f"{OUT}logs/records.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} records --snapshot-dir {params.snapshot_dir}"
        " --curated-dir {params.curated_dir}"
        " --records {output.records} --studies {output.studies} > {log} 2>&1"


rule screen:
    input:
        settings=step_settings("screen"),
        records=f"{OUT}data/processed/records.csv",
        studies=f"{OUT}data/processed/studies.csv",
        overrides=f"{CURATED}/screening_overrides.csv",
    output:
        screening=f"{OUT}data/processed/screening.csv",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
    log:
        f"{OUT}logs/screen.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} screen --config {input.settings} --records {input.records}"
        " --studies {input.studies} --overrides {input.overrides}"
        " --output {output.screening} > {log} 2>&1"


rule prisma:
    input:
        records=f"{OUT}data/processed/records.csv",
        screening=f"{OUT}data/processed/screening.csv",
        manifest=f"{SNAPSHOT}/manifest.json",
    output:
        prisma=f"{OUT}data/processed/prisma.json",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        snapshot_dir=parent_of("manifest"),
    log:
        f"{OUT}logs/prisma.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} prisma --records {input.records} --screening {input.screening}"
        " --snapshot-dir {params.snapshot_dir} --output {output.prisma} > {log} 2>&1"
