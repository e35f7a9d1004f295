set terminal pngcairo size 900,560 noenhanced
set output 'train_return_CartPole-v1.png.tmp'
set title 'rl_baselines: train_return/CartPole-v1 (mean and 95% band over seeds)'
set xlabel 'x'
set ylabel 'train_return/CartPole-v1'
set key below
set format x '%.0s%c'
set grid
set style fill transparent solid 0.18 noborder
plot 'train_return_CartPole-v1.dat' index 0 using 1:3:4 with filledcurves lc 1 notitle, 'train_return_CartPole-v1.dat' index 0 using 1:2 with lines lw 2 lc 1 title 'ppo/CartPole-v1'
