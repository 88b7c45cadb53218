# Stage 6: what changed since the previous version, and the self-contained HTML report.


# The comparison with the previous version (review.previous_version; none by default: the
# output then says so). `diff` exits 1 when something changed, which is not an error here.
rule changes:
    input:
        config=resolved_config(),
        claims=f"{OUT}results/claims.csv",
        prisma=f"{OUT}data/processed/prisma.json",
        snapshot=snapshot_files,
        previous=previous_version_files,
    output:
        json=f"{OUT}results/changes.json",
        md=f"{OUT}results/changes.md",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        snapshot=SNAPSHOT,
        previous=previous_version_options,
        new=OUT or ".",  # the folder holding this version's results/ and data/processed/
    log:
        f"{OUT}logs/changes.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} diff {params.previous} --new {params.new} --new-snapshot {params.snapshot}"
        " --new-config {input.config} --output {output.md} --json {output.json}"
        " > {log} 2>&1 || [ $? -eq 1 ]"


rule report:
    input:
        settings=resolved_config(),
        changes=rules.changes.output.json,
        claims=f"{OUT}results/claims.csv",
        certainty=f"{OUT}results/certainty.csv",
        summary_of_findings=f"{OUT}results/summary_of_findings.csv",
        claim_studies=f"{OUT}results/claim_studies.csv",
        pooled=f"{OUT}results/pooled.csv",
        fits=f"{OUT}results/analyses.json",
        study_effects=f"{OUT}results/study_effects.csv",
        sensitivity=f"{OUT}results/sensitivity.csv",
        moderators=f"{OUT}results/moderators.csv",
        figures=f"{OUT}results/figures",
        prisma=f"{OUT}data/processed/prisma.json",
        studies=f"{OUT}data/processed/studies.csv",
        screening=f"{OUT}data/processed/screening.csv",
        records=f"{OUT}data/processed/records.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        not_poolable=f"{OUT}data/processed/not_poolable.csv",
        registry_vs_publication=f"{OUT}data/processed/registry_vs_publication.csv",
        within_arm=f"{OUT}data/processed/within_arm.csv",
        manifest=f"{SNAPSHOT}/manifest.json",
        published_syntheses=optional_curated("published_syntheses.csv"),
        registry_facts=optional_curated("registry_facts.csv"),
    output:
        html=report(f"{OUT}results/report.html", caption="../report/report.rst", category="Report"),
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
        # the configured path even when the sheet is absent: the report names it so
        syntheses=f"{CURATED}/published_syntheses.csv",
        registry_facts=f"{CURATED}/registry_facts.csv",
    log:
        f"{OUT}logs/report.log",
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
        stamp=f"{OUT}results/build_stamp.json",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
    log:
        f"{OUT}logs/stamp.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} stamp --config {input.config} --manifest {input.manifest}"
        " --inputs {input.sources} {input.snapshot} --outputs {input.outputs}"
        " --output {output.stamp} > {log} 2>&1"
