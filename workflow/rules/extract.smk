# Stage 3: effect sizes from the curated sheets, and posted registry results read by machine.


rule effects:
    input:
        extraction=f"{CURATED}/extraction.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        # optional sheets, validated with the others when present
        thresholds=optional_curated("thresholds.csv"),
        registry_facts=optional_curated("registry_facts.csv"),
        manifest=f"{SNAPSHOT}/manifest.json",
        snapshot=snapshot_files,
        settings=step_settings("effects"),
    output:
        effects=report(
            f"{OUT}data/processed/effects.csv", caption="../report/study_effects.rst", category="Data"
        ),
        not_poolable=f"{OUT}data/processed/not_poolable.csv",
        within_arm=f"{OUT}data/processed/within_arm.csv",
        registry_rows=f"{OUT}data/processed/registry_rows.csv",
        registry_analyses=f"{OUT}data/processed/registry_analyses.csv",
        registry_vs_publication=f"{OUT}data/processed/registry_vs_publication.csv",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        curated_dir=parent_of("extraction"),
        registry_dir=parent_of("manifest"),
        out_dir=lambda wildcards, output: Path(output.effects).parent,
        # the only settings this step uses, as params so that changing them re-runs it
        crossover_r=config["analysis"]["crossover_r"],
        crossover_r_sensitivity=" ".join(map(str, config["analysis"]["crossover_r_sensitivity"])),
        intervention=config["review"]["intervention"],
    log:
        f"{OUT}logs/effects.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} effects --config {input.settings} --curated-dir {params.curated_dir}"
        " --crossover-r {params.crossover_r}"
        " --crossover-r-sensitivity {params.crossover_r_sensitivity}"
        " --intervention {params.intervention:q}"
        " --registry-dir {params.registry_dir} --out-dir {params.out_dir} > {log} 2>&1"


# Posted results of every included registration, including new ones no reviewer has extracted
# yet, as registry-sourced effect rows awaiting confirmation. Never pooled; the report and
# `ketamine-evidence awaiting` point a reviewer at them.
rule registry_effects:
    input:
        extraction=f"{CURATED}/extraction.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        manifest=f"{SNAPSHOT}/manifest.json",
        snapshot=snapshot_files,
        screening=f"{OUT}data/processed/screening.csv",
        settings=step_settings("registry_effects"),
    output:
        effects=f"{OUT}data/processed/registry_effects.csv",
        pending=f"{OUT}data/processed/registry_pending_rows.csv",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        curated_dir=parent_of("extraction"),
        registry_dir=parent_of("manifest"),
    log:
        f"{OUT}logs/registry_effects.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} registry-effects --config {input.settings} --curated-dir {params.curated_dir}"
        " --registry-dir {params.registry_dir} --screening {input.screening}"
        " --output {output.effects} --pending-rows {output.pending} > {log} 2>&1"
