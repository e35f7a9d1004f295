set terminal pngcairo size 900,560 noenhanced
set output 'proxy_vs_sqrt_kl.png.tmp'
set title 'up_rlhf: proxy reward (RM mean) (mean and 95% band over seeds)'
set xlabel 'sqrt KL(pi || pi_SFT)'
set ylabel 'proxy reward (RM mean)'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'proxy_vs_sqrt_kl.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'proxy_vs_sqrt_kl.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'up_rlhf', 'proxy_vs_sqrt_kl.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'proxy_vs_sqrt_kl.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'single_rm', 'proxy_vs_sqrt_kl.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'proxy_vs_sqrt_kl.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ensemble_mean', 'proxy_vs_sqrt_kl.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'proxy_vs_sqrt_kl.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'uwo', 'proxy_vs_sqrt_kl.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'proxy_vs_sqrt_kl.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'wco'
