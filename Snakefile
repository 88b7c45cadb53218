# ketamine-evidence: the whole review, offline on the committed snapshot by default.
#   snakemake --cores 2            records -> screening -> effects -> analyses -> claims -> figures -> report
#   snakemake --cores 2 --report results/snakemake-report.html
# A live refresh of the snapshot is a separate, explicit command: `ketamine-evidence refresh`.

from snakemake.utils import min_version

min_version("8.0")


# The review's configuration: config.yaml, or the whole configuration of another review given
# with --configfile (e.g. examples/<name>/config.yaml), which then replaces config.yaml instead
# of being merged over it, so no value of this review leaks into the other one. --config
# overrides apply to either.
if not workflow.overwrite_configfiles:

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
        f"{OUT}results/report.html",
        f"{OUT}results/claims.csv",
        f"{OUT}results/pooled.csv",
        f"{OUT}data/processed/prisma.json",
        f"{OUT}data/processed/registry_effects.csv",
        f"{OUT}results/changes.json",
        f"{OUT}results/build_stamp.json",
    default_target: True


onerror:
    # A step failed: older outputs stay on disk and would look current. Say so in the stamp.
    mark_stamp_stale(f"{OUT}results/build_stamp.json", log)

