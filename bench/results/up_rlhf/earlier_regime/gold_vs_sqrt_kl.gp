set terminal pngcairo size 900,560 noenhanced
set output 'gold_vs_sqrt_kl.png.tmp'
set title 'up_rlhf: gold reward (mean and 95% band over seeds)'
set xlabel 'sqrt KL(pi || pi_SFT)'
set ylabel 'gold reward'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'gold_vs_sqrt_kl.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'gold_vs_sqrt_kl.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'up_rlhf', 'gold_vs_sqrt_kl.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'gold_vs_sqrt_kl.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'single_rm', 'gold_vs_sqrt_kl.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'gold_vs_sqrt_kl.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ensemble_mean', 'gold_vs_sqrt_kl.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'gold_vs_sqrt_kl.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'uwo', 'gold_vs_sqrt_kl.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'gold_vs_sqrt_kl.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'wco'
