set terminal pngcairo size 900,560 noenhanced
set output 'kl_vs_iteration.png.tmp'
set title 'align_baselines: kl_vs_iteration (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'kl_vs_iteration'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'kl_vs_iteration.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'kl_vs_iteration.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'ppo_rlhf', 'kl_vs_iteration.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'kl_vs_iteration.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'overopt'
