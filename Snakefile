# ketamine-evidence: the whole review, offline on the committed snapshot by default.
#   snakemake --cores 2            records -> screening -> effects -> analyses -> claims -> figures -> report
#   snakemake --cores 2 --report results/snakemake-report.html
# A live refresh of the snapshot is a separate, explicit command: `ketamine-evidence refresh`.

from snakemake.utils import min_version

min_version("8.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/records.smk"
include: "workflow/rules/extract.smk"
include: "workflow/rules/analyze.smk"
include: "workflow/rules/report.smk"


# Steps that take a second or less run where Snakemake runs, never as a cluster job
# (workflow/profiles/slurm).
localrules:
    all,
    stamp,
    prisma,
    claims,
    changes,


rule all:
    input:
        "results/report.html",
        "results/claims.csv",
        "results/pooled.csv",
        "data/processed/prisma.json",
        "data/processed/registry_effects.csv",
        "results/changes.json",
        "results/build_stamp.json",
    default_target: True


onerror:
    # A step failed: older outputs stay on disk and would look current. Say so in the stamp.
    mark_stamp_stale("results/build_stamp.json", log)

