set terminal pngcairo size 900,560 noenhanced
set output 'proxy.png.tmp'
set title 'up_rlhf: proxy (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'proxy'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'proxy.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'proxy.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'up_rlhf', 'proxy.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'proxy.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'single_rm', 'proxy.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'proxy.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'ensemble_mean', 'proxy.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'proxy.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'uwo', 'proxy.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'proxy.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'wco'
