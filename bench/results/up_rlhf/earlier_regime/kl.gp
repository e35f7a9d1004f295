set terminal pngcairo size 900,560 noenhanced
set output 'kl.png.tmp'
set title 'up_rlhf: kl (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'kl'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'kl.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'kl.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'up_rlhf', 'kl.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'kl.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'single_rm', 'kl.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'kl.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ensemble_mean', 'kl.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'kl.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'uwo', 'kl.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'kl.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'wco'
