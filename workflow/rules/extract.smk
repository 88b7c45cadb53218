# Stage 3: effect sizes from the curated sheets, and posted registry results read by machine.


rule effects:
    input:
        extraction=f"{CURATED}/extraction.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        snapshot=snapshot_files,
    output:
        effects=report(
            "data/processed/effects.csv", caption="../report/study_effects.rst", category="Data"
        ),
        not_poolable="data/processed/not_poolable.csv",
        within_arm="data/processed/within_arm.csv",
        registry_rows="data/processed/registry_rows.csv",
        registry_analyses="data/processed/registry_analyses.csv",
        registry_vs_publication="data/processed/registry_vs_publication.csv",
    params:
        out_dir=lambda wildcards, output: Path(output.effects).parent,
    log:
        "logs/effects.log",
    shell:
        "{KE} effects --config {CONFIG_FILE} --curated-dir {CURATED} --registry-dir {SNAPSHOT}"
        " --out-dir {params.out_dir} > {log} 2>&1"
