set terminal pngcairo size 900,560 noenhanced
set output 'overopt_proxy_vs_sqrt_kl.png.tmp'
set title 'align_baselines: reward being optimised (proxy RM) (mean and 95% band over seeds)'
set xlabel 'sqrt(KL(pi || pi_sft)) [sqrt nats]'
set ylabel 'reward being optimised (proxy RM)'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'overopt_proxy_vs_sqrt_kl.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'overopt_proxy_vs_sqrt_kl.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'overopt', 'overopt_proxy_vs_sqrt_kl.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'overopt_proxy_vs_sqrt_kl.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'ppo_rlhf'
