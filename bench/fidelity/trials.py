"""The 10 compared trials of issue 11 (section 1; the issue says 12 but lists 10): graph, family folder, modularity, arch, seed, lr,
batch size, epochs, P_u and the one P_e searched.

input-separable [4,24,4] seeds 0,1,2,5 at P_u 70 / P_e 2.5; reused [4,24,24,16] seeds 0,1,2,5 and
reuse-use1 [4,24,24,2] seeds 0,1 at the (P_u, P_e) the authors kept for that seed (their stored
network), with the cell's lr / batch size / epochs from examples/experiments/figure7.toml and
figure8.toml.  ``python bench/fidelity/trials.py`` prints them as shell words for oracle.py.
"""
TRIALS = (
    [dict(name=f"is_s{s}", graph="input-separable", family="exemplar", modularity=[4, 2, 4], arch=[4, 24, 4],
          seed=s, lr=0.05, batch_size=8, epochs=15, p_u=70.0, p_e=2.5) for s in (0, 1, 2, 5)]
    + [dict(name=f"reused_s{s}", graph="reused", family="exemplar", modularity=[4, 1, 2, 16],
            arch=[4, 24, 24, 16], seed=s, lr=0.1, batch_size=8, epochs=40, p_u=pu, p_e=pe)
       for s, pu, pe in ((0, 70.0, 2.5), (1, 25.0, 1.5), (2, 55.0, 2.0), (5, 55.0, 1.0))]
    + [dict(name=f"use1_s{s}", graph="reuse-use1", family="increasing_reuse_non_separable", modularity=[4, 1, 2, 2],
            arch=[4, 24, 24, 2], seed=s, lr=0.1, batch_size=8, epochs=30, p_u=pu, p_e=pe)
       for s, pu, pe in ((0, 30.0, 2.0), (1, 65.0, 0.5))]
)

if __name__ == "__main__":
    for t in TRIALS:
        print(t["name"], t["family"], " ".join(map(str, t["modularity"])), " ".join(map(str, t["arch"])),
              t["seed"], t["lr"], t["batch_size"], t["epochs"], t["p_u"], t["p_e"], sep="|")
