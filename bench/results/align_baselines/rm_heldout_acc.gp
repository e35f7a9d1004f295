set terminal pngcairo size 900,560 noenhanced
set output 'rm_heldout_acc.png.tmp'
set title 'align_baselines: rm_heldout_acc (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'rm_heldout_acc'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'rm_heldout_acc.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'rm_heldout_acc.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'rm'
