# Stage 4-5: pooled analyses, claim verdicts and figures.


rule analyze:
    input:
        settings=step_settings("analyze"),
        effects=f"{OUT}data/processed/effects.csv",
    output:
        pooled=report(f"{OUT}results/pooled.csv", caption="../report/pooled.rst", category="Analyses"),
        study_effects=f"{OUT}results/study_effects.csv",
        sensitivity=f"{OUT}results/sensitivity.csv",
        moderators=f"{OUT}results/moderators.csv",
        posterior=f"{OUT}results/bayes_posterior.csv",
        statsmodels_check=f"{OUT}results/statsmodels_check.csv",
        reproduce_r=f"{OUT}results/reproduce.R",
        fits=f"{OUT}results/analyses.json",
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
    log:
        f"{OUT}logs/analyze.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} analyze --config {input.settings} --effects {input.effects}"
        " --out-pooled {output.pooled} --out-study-effects {output.study_effects}"
        " --out-sensitivity {output.sensitivity} --out-moderators {output.moderators}"
        " --out-posterior {output.posterior} --out-fits {output.fits}"
        " --out-statsmodels-check {output.statsmodels_check}"
        " --out-reproduce-r {output.reproduce_r} > {log} 2>&1"


rule claims:
    input:
        settings=step_settings("claims"),
        pooled=f"{OUT}results/pooled.csv",
        study_effects=f"{OUT}results/study_effects.csv",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        not_poolable=f"{OUT}data/processed/not_poolable.csv",
        within_arm=f"{OUT}data/processed/within_arm.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        thresholds=optional_curated("thresholds.csv"),
        screening=f"{OUT}data/processed/screening.csv",
        records=f"{OUT}data/processed/records.csv",
        posterior=f"{OUT}results/bayes_posterior.csv",
        manifest=f"{SNAPSHOT}/manifest.json",
    output:
        claims=report(f"{OUT}results/claims.csv", caption="../report/claims.rst", category="Claims"),
        probabilities=f"{OUT}results/claim_probabilities.csv",
        claim_studies=f"{OUT}results/claim_studies.csv",
        certainty=f"{OUT}results/certainty.csv",
        summary_of_findings=f"{OUT}results/summary_of_findings.csv",
    params:
        thresholds=lambda wildcards, input: (
            f"--thresholds {input.thresholds}" if input.thresholds else ""
        ),
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
    log:
        f"{OUT}logs/claims.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} claims --config {input.settings} --pooled {input.pooled}"
        " --study-effects {input.study_effects} --risk-of-bias {input.risk_of_bias}"
        " --not-poolable {input.not_poolable} --within-arm {input.within_arm}"
        " --characteristics {input.characteristics} {params.thresholds}"
        " --screening {input.screening} --records {input.records}"
        " --posterior {input.posterior} --manifest {input.manifest}"
        " --out-probabilities {output.probabilities}"
        " --out {output.claims} --out-studies {output.claim_studies}"
        " --out-certainty {output.certainty} --out-sof {output.summary_of_findings}"
        " > {log} 2>&1"


rule figures:
    input:
        settings=step_settings("figures"),
        fits=f"{OUT}results/analyses.json",
        prisma=f"{OUT}data/processed/prisma.json",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
        claims=f"{OUT}results/claims.csv",
        posterior=f"{OUT}results/bayes_posterior.csv",
    output:
        figures=report(
            directory(f"{OUT}results/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    params:
        ke=KE,
        code=PACKAGE_CODE,
        sources=SOURCES,
    log:
        f"{OUT}logs/figures.log",
    conda:
        "../envs/ketamine-evidence.yaml"
    shell:
        "{params.ke} figures --config {input.settings} --analyses {input.fits}"
        " --prisma {input.prisma} --risk-of-bias {input.risk_of_bias}"
        " --characteristics {input.characteristics} --claims {input.claims}"
        " --posterior {input.posterior} --outdir {output.figures} > {log} 2>&1"
