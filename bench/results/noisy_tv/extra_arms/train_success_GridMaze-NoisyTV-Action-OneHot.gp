set terminal pngcairo size 900,560 noenhanced
set output 'train_success_GridMaze-NoisyTV-Action-OneHot.png.tmp'
set title 'noisy_tv: train_success_GridMaze-NoisyTV-Action-OneHot (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'train_success_GridMaze-NoisyTV-Action-OneHot'
set key below
set format x '%.0s%c'
set grid
set style fill transparent solid 0.18 noborder
plot 'train_success_GridMaze-NoisyTV-Action-OneHot.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'train_success_GridMaze-NoisyTV-Action-OneHot.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'icm_stopgrad/GridMaze-NoisyTV-Action-OneHot', 'train_success_GridMaze-NoisyTV-Action-OneHot.dat' index 1 using 1:3:4 with filledcurves lc 2 notitle, 'train_success_GridMaze-NoisyTV-Action-OneHot.dat' index 1 using 1:2 with lines lw 2 lc 2 title 'dymecu_own/GridMaze-NoisyTV-Action-OneHot', 'train_success_GridMaze-NoisyTV-Action-OneHot.dat' index 2 using 1:3:4 with filledcurves lc 3 notitle, 'train_success_GridMaze-NoisyTV-Action-OneHot.dat' index 2 using 1:2 with lines lw 2 lc 3 title 'dymecu_paramavg/GridMaze-NoisyTV-Action-OneHot'
