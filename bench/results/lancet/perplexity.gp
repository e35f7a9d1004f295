set terminal pngcairo size 900,560 noenhanced
set output 'perplexity.png.tmp'
set title 'lancet: perplexity (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'perplexity'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'perplexity.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'perplexity.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'correct/lancet', 'perplexity.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'perplexity.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'correct/lancet_rank', 'perplexity.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'perplexity.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'correct/lancet_uniform', 'perplexity.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'perplexity.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'correct/ibo_tracin', 'perplexity.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'perplexity.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'correct/ga_recalled', 'perplexity.dat' index 5 using 1:3:4 with filledcurves lc 6 notitle, 'perplexity.dat' index 5 using 1:2 with lines lw 2 lc 6 title 'correct/ga_random', 'perplexity.dat' index 6 using 1:3:4 with filledcurves lc 7 notitle, 'perplexity.dat' index 6 using 1:2 with lines lw 2 lc 7 title 'correct/dpo_oracle'
