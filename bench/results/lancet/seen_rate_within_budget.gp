set terminal pngcairo size 900,560 noenhanced
set output 'seen_rate_within_budget.png.tmp'
set title 'lancet: seen_rate_within_budget (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'seen_rate_within_budget'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'seen_rate_within_budget.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'seen_rate_within_budget.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'correct/lancet', 'seen_rate_within_budget.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'seen_rate_within_budget.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'correct/lancet_rank', 'seen_rate_within_budget.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'seen_rate_within_budget.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'correct/lancet_uniform', 'seen_rate_within_budget.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'seen_rate_within_budget.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'correct/ibo_tracin', 'seen_rate_within_budget.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'seen_rate_within_budget.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'correct/ga_recalled', 'seen_rate_within_budget.dat' index 5 using 1:3:4 with filledcurves lc 6 notitle, 'seen_rate_within_budget.dat' index 5 using 1:2 with lines lw 2 lc 6 title 'correct/ga_random', 'seen_rate_within_budget.dat' index 6 using 1:3:4 with filledcurves lc 7 notitle, 'seen_rate_within_budget.dat' index 6 using 1:2 with lines lw 2 lc 7 title 'correct/dpo_oracle'
