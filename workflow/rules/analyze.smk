# Stage 4-5: pooled analyses, claim verdicts and figures.


rule analyze:
    input:
        effects="data/processed/effects.csv",
    output:
        pooled=report("results/pooled.csv", caption="../report/pooled.rst", category="Analyses"),
        study_effects="results/study_effects.csv",
        sensitivity="results/sensitivity.csv",
    log:
        "logs/analyze.log",
    shell:
        "{KE} analyze --config {CONFIG_FILE} --effects {input.effects}"
        " --out-pooled {output.pooled} --out-study-effects {output.study_effects}"
        " --out-sensitivity {output.sensitivity} > {log} 2>&1"


rule claims:
    input:
        pooled="results/pooled.csv",
        study_effects="results/study_effects.csv",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        not_poolable="data/processed/not_poolable.csv",
        within_arm="data/processed/within_arm.csv",
    output:
        report("results/claims.csv", caption="../report/claims.rst", category="Claims"),
    log:
        "logs/claims.log",
    shell:
        "{KE} claims --config {CONFIG_FILE} --pooled {input.pooled}"
        " --study-effects {input.study_effects} --risk-of-bias {input.risk_of_bias}"
        " --not-poolable {input.not_poolable} --within-arm {input.within_arm}"
        " --out {output} > {log} 2>&1"


rule figures:
    input:
        effects="data/processed/effects.csv",
        prisma="data/processed/prisma.json",
        risk_of_bias=f"{CURATED}/risk_of_bias.csv",
        characteristics=f"{CURATED}/study_characteristics.csv",
    output:
        figures=report(
            directory("results/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        "logs/figures.log",
    shell:
        "{KE} figures --config {CONFIG_FILE} --effects {input.effects} --prisma {input.prisma}"
        " --risk-of-bias {input.risk_of_bias} --characteristics {input.characteristics}"
        " --outdir {output.figures} > {log} 2>&1"
