set terminal pngcairo size 900,560 noenhanced
set output 'return.png.tmp'
set title 'orpo_toy: return (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'return'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'return.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'return.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'orpo', 'return.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'return.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'mopo', 'return.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'return.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'td3bc', 'return.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'return.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'cql', 'return.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'return.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'bc', 'return.dat' index 5 using 1:3:4 with filledcurves lc 6 notitle, 'return.dat' index 5 using 1:2 with lines lw 2 lc 6 title 'orpo_pi_o_eq_pi'
