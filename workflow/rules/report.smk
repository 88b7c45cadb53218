# Stage 6: what changed since the previous version, and the self-contained HTML report.


# The comparison with the previous version (review.previous_version; none by default: the
# output then says so). `diff` exits 1 when something changed, which is not an error here.
rule changes:
    input:
        config=resolved_config(),
        claims="results/claims.csv",
        prisma="data/processed/prisma.json",
        snapshot=snapshot_files,
        previous=previous_version_files,
    output:
        json="results/changes.json",
        md="results/changes.md",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        snapshot=SNAPSHOT,
        previous=previous_version_options,
    log:
        "logs/changes.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} diff {params.previous} --new . --new-snapshot {params.snapshot}"
        " --new-config {input.config} --output {output.md} --json {output.json}"
        " > {log} 2>&1 || [ $? -eq 1 ]"


rule report:
    input:
        settings=resolved_config(),
        changes=rules.changes.output.json,
        claims="results/claims.csv",
        certainty="results/certainty.csv",
        summary_of_findings="results/summary_of_findings.csv",
        claim_studies="results/claim_studies.csv",
        pooled="results/pooled.csv",
        fits="results/analyses.json",
        study_effects="results/study_effects.csv",
        sensitivity="results/sensitivity.csv",
        moderators="results/moderators.csv",
        figures="results/figures",
        prisma="data/processed/prisma.json",
        studies="data/processed/studies.csv",
        screening="data/processed/screening.csv",
        records="data/processed/records.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        not_poolable="data/processed/not_poolable.csv",
        registry_vs_publication="data/processed/registry_vs_publication.csv",
        within_arm="data/processed/within_arm.csv",
        manifest=f"{SNAPSHOT}/manifest.json",
        published_syntheses=optional_curated("published_syntheses.csv"),
        registry_facts=optional_curated("registry_facts.csv"),
    output:
        html=report("results/report.html", caption="../report/report.rst", category="Report"),
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        syntheses=lambda wildcards, input: input.published_syntheses or "none",
        registry_facts=lambda wildcards, input: input.registry_facts or "none",
    log:
        "logs/report.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} report --config {input.settings} --claims {input.claims}"
        " --certainty {input.certainty} --summary-of-findings {input.summary_of_findings}"
        " --claim-studies {input.claim_studies}"
        " --pooled {input.pooled} --analyses {input.fits} --study-effects {input.study_effects}"
        " --sensitivity {input.sensitivity} --moderators {input.moderators}"
        " --figures-dir {input.figures}"
        " --prisma {input.prisma} --studies {input.studies} --screening {input.screening}"
        " --records {input.records}"
        " --characteristics {input.characteristics} --risk-of-bias {input.risk_of_bias}"
        " --not-poolable {input.not_poolable}"
        " --registry-vs-publication {input.registry_vs_publication}"
        " --within-arm {input.within_arm} --published-syntheses {params.syntheses}"
        " --registry-facts {params.registry_facts}"
        " --manifest {input.manifest} --changes {input.changes}"
        " --out {output.html} > {log} 2>&1"


# Last step: what every output was built from (git commit, config and input hashes, snapshot
# date) and the hash of every output, so a file left over from an earlier build can be told
# apart. A failed run marks the stamp as stale (Snakefile, onerror).
rule stamp:
    input:
        config=resolved_config(),
        manifest=f"{SNAPSHOT}/manifest.json",
        sources=lambda wildcards: sorted(str(p) for p in Path(CURATED).glob("*.csv")),
        snapshot=snapshot_files,
        outputs=[
            *rules.records.output,
            *rules.screen.output,
            *rules.prisma.output,
            *rules.effects.output,
            *rules.registry_effects.output,
            *rules.analyze.output,
            *rules.claims.output,
            *rules.figures.output,
            *rules.changes.output,
            *rules.report.output,
        ],
    output:
        stamp="results/build_stamp.json",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
    log:
        "logs/stamp.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} stamp --config {input.config} --manifest {input.manifest}"
        " --inputs {input.sources} {input.snapshot} --outputs {input.outputs}"
        " --output {output.stamp} > {log} 2>&1"
