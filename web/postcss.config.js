// Mantine's PostCSS preset (its mixins and rem functions), for the dashboard build.
export default {
  plugins: {
    'postcss-preset-mantine': {},
  },
};
