set terminal pngcairo size 1080,720 noenhanced
set output 'trajectories.png.tmp'
set datafile separator ','
set xrange [-3:3]
set yrange [-3:3]
set size ratio -1
unset key
set style fill transparent solid 0.2 noborder
set multiplot layout 2,3 title 'orpo_toy: paths of the final policy (seed 0) from five band states; shaded: the data band'
set title 'orpo'
plot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', for [k=0:4] 'trajectories.csv' using (strcol(1) eq 'orpo' && $2 == 0 && $3 == k ? $5 : NaN):6 with linespoints lw 2 pt 7 ps 0.5
set title 'mopo'
plot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', for [k=0:4] 'trajectories.csv' using (strcol(1) eq 'mopo' && $2 == 0 && $3 == k ? $5 : NaN):6 with linespoints lw 2 pt 7 ps 0.5
set title 'td3bc'
plot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', for [k=0:4] 'trajectories.csv' using (strcol(1) eq 'td3bc' && $2 == 0 && $3 == k ? $5 : NaN):6 with linespoints lw 2 pt 7 ps 0.5
set title 'cql'
plot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', for [k=0:4] 'trajectories.csv' using (strcol(1) eq 'cql' && $2 == 0 && $3 == k ? $5 : NaN):6 with linespoints lw 2 pt 7 ps 0.5
set title 'bc'
plot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', for [k=0:4] 'trajectories.csv' using (strcol(1) eq 'bc' && $2 == 0 && $3 == k ? $5 : NaN):6 with linespoints lw 2 pt 7 ps 0.5
set title 'orpo_pi_o_eq_pi'
plot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', for [k=0:4] 'trajectories.csv' using (strcol(1) eq 'orpo_pi_o_eq_pi' && $2 == 0 && $3 == k ? $5 : NaN):6 with linespoints lw 2 pt 7 ps 0.5
unset multiplot
