set terminal pngcairo size 900,560 noenhanced
set output 'kl_target0.png.tmp'
set title 'up_rlhf: kl_target0 (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'kl_target0'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'kl_target0.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'kl_target0.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'single_rm'
