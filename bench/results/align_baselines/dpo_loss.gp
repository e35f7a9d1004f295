set terminal pngcairo size 900,560 noenhanced
set output 'results/align_baselines/dpo_loss.png.tmp'
set title 'align_baselines: dpo_loss (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'dpo_loss'
set key outside right
set grid
set style fill transparent solid 0.18 noborder
plot 'results/align_baselines/dpo_loss.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'results/align_baselines/dpo_loss.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'dpo', 'results/align_baselines/dpo_loss.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'results/align_baselines/dpo_loss.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'cdpo', 'results/align_baselines/dpo_loss.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'results/align_baselines/dpo_loss.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ipo'
