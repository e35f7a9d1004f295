set terminal pngcairo size 900,560 noenhanced
set output 'dpo_loss.png.tmp'
set title 'align_baselines: dpo_loss (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'dpo_loss'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'dpo_loss.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'dpo_loss.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'dpo', 'dpo_loss.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'dpo_loss.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'cdpo', 'dpo_loss.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'dpo_loss.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ipo'
