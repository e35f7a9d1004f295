set terminal pngcairo size 900,560 noenhanced
set output 'train_success_GridMaze-FarGoal-OneHot.png.tmp'
set title 'noisy_tv: train_success_GridMaze-FarGoal-OneHot (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'train_success_GridMaze-FarGoal-OneHot'
set key below
set format x '%.0s%c'
set grid
set style fill transparent solid 0.18 noborder
plot 'train_success_GridMaze-FarGoal-OneHot.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'ppo/GridMaze-FarGoal-OneHot', 'train_success_GridMaze-FarGoal-OneHot.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'icm/GridMaze-FarGoal-OneHot', 'train_success_GridMaze-FarGoal-OneHot.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'rnd/GridMaze-FarGoal-OneHot', 'train_success_GridMaze-FarGoal-OneHot.dat' index 3 using 1:3:4 with filledcurves lc 4 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 3 using 1:2 with lines lw 2 lc 4 title 'disagreement/GridMaze-FarGoal-OneHot', 'train_success_GridMaze-FarGoal-OneHot.dat' index 4 using 1:3:4 with filledcurves lc 5 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 4 using 1:2 with lines lw 2 lc 5 title 'ti/GridMaze-FarGoal-OneHot', 'train_success_GridMaze-FarGoal-OneHot.dat' index 5 using 1:3:4 with filledcurves lc 6 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 5 using 1:2 with lines lw 2 lc 6 title 'ti_uniform/GridMaze-FarGoal-OneHot', 'train_success_GridMaze-FarGoal-OneHot.dat' index 6 using 1:3:4 with filledcurves lc 7 notitle, 'train_success_GridMaze-FarGoal-OneHot.dat' index 6 using 1:2 with lines lw 2 lc 7 title 'dymecu/GridMaze-FarGoal-OneHot'
