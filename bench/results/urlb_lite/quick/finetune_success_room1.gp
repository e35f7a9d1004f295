set terminal pngcairo size 900,560 noenhanced
set output 'finetune_success_room1.png.tmp'
set title 'urlb_lite: finetune_success_room1 (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'finetune_success_room1'
set key below
set grid
set style fill transparent solid 0.18 noborder
plot 'finetune_success_room1.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'finetune_success_room1.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'ppo/GridMaze', 'finetune_success_room1.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'finetune_success_room1.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'icm/GridMaze', 'finetune_success_room1.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'finetune_success_room1.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'rnd/GridMaze', 'finetune_success_room1.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'finetune_success_room1.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'disagreement/GridMaze', 'finetune_success_room1.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'finetune_success_room1.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'apt/GridMaze', 'finetune_success_room1.dat' index 5 using 1:3:4 with filledcurves lc 6 notitle, 'finetune_success_room1.dat' index 5 using 1:2 with lines lw 2 lc 6 title 'ti/GridMaze', 'finetune_success_room1.dat' index 6 using 1:3:4 with filledcurves lc 7 notitle, 'finetune_success_room1.dat' index 6 using 1:2 with lines lw 2 lc 7 title 'dymecu/GridMaze'
